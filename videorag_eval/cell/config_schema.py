"""The typed schema of every setting a user can give: one declaration per key (type, range, choices).

Each config group is a pydantic model (``Rag``, ``Model``, ``Task``, ``Method``, ``Aux``...), the whole
composed config is ``Config`` (``python -m videorag_eval``) or ``ExtractConfig``
(``python -m videorag_eval.extract``), and the SLURM launcher's keys are ``SlurmLauncher``. Adding a key
is one line in its group, e.g. ``retrieval: Bool = True`` in ``Rag``; its "allowed" text (in the refusal
and in docs/configuration.md's table) is derived from the declaration, or given as ``Field(description=...)``.

Why pydantic rather than Hydra structured configs: the schema validates the config *after* Hydra composed
and resolved it, so the composition stays as it is (method profiles writing into ``rag``/``aux`` from
``_global_``, test models overriding ``aux``, ``frames: ${oc.select:model.frames,8}``), ranges and
choices are declared beside the type (structured configs know types and enums only), one bad cell of a
sweep is refused alone with our one-line message (a structured config fails the whole composition with
Hydra's), and nothing is coerced: the schema validates in strict mode and its result is thrown away, so a
value that goes into a cell's identity hash (``rag.threshold=1`` stays the int 1) never changes.

``refusal(data, schema)`` returns the first key whose value is not allowed (``None``: all are), and
``uncovered(data, schema)`` the leaves of a config the schema does not declare (a test walks every config
group option with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..benchmarks.schemas import SCHEMAS as TASK_SCHEMAS
from ..core.resources import CONF_DIR
from ..lmms.tasks import SPECS as TASKS
from ..method.detection.detectors import DETECTOR_KINDS
from ..method.detection.entities import CLEANERS
from ..method.detection.keyframes import RULES, SIMILARITIES
from ..method.detection.scene_graph import RELATION_MODES
from ..models.tiny import TINY_BUILDERS
from ..runtime.adapter_specs import SPECS as ADAPTERS

# ---------------------------------------------------------------------- the vocabulary of a declaration


def Int(ge: int | None = None, le: int | None = None) -> Any:
    """An integer (never a bool, a float or a string of digits), within [ge, le]."""
    return Annotated[int, Field(strict=True, ge=ge, le=le)]


def Num(ge: float | None = None, le: float | None = None, gt: float | None = None, lt: float | None = None) -> Any:
    """A finite number (an int is one too; nan, inf, a bool or a string is not) within the bounds."""
    return Annotated[float, Field(strict=True, ge=ge, le=le, gt=gt, lt=lt, allow_inf_nan=False)]


def OneOf(*values: Any) -> Any:
    return Literal[tuple(values)]  # type: ignore[valid-type]


def conf_options(group: str) -> tuple[str, ...]:
    """The options of a config group: its YAML files in ``conf/<group>/`` (a new preset is a new file)."""
    return tuple(sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")))


Bool = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(strict=True, min_length=1)]
PathText = Annotated[str, Field(strict=True, min_length=1, description="a path")]
Weight = Annotated[str, Field(strict=True, min_length=1, description="a hub id, a local path or packaged:<name>")]
Device = Annotated[str, Field(strict=True, pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="auto, cpu, cuda, cuda:N")]
Threshold = Num(ge=-1.0, le=1.0)  # a cosine
Fraction = Num(ge=0.0, le=1.0)
TaskName = OneOf(*TASKS)
MethodName = OneOf(*conf_options("method"))
# faster-whisper (CTranslate2) compute types; auto = float16 on cuda, int8 on cpu (extractors/asr.py)
COMPUTE_TYPES = ("auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
                 "bfloat16", "float32")


class Group(BaseModel):
    """A config group: strict types, and a key it does not declare is refused (a typo never passes)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# ---------------------------------------------------------------------- the groups


class Model(Group):  # conf/model/<name>.yaml
    name: OneOf(*conf_options("model"))
    adapter: OneOf(*ADAPTERS) = Field(description="an lmms-eval model with a row in videorag_eval/runtime/adapter_specs.py: "
                                      + ", ".join(ADAPTERS))
    frames: Int(ge=1) = 8  # the model's default `frames`
    frame_arg: Optional[Text] = None  # the adapter's frame-count argument
    frames_fixed: Optional[Int(ge=1)] = None  # the only frame count the adapter takes
    force_simple: Bool = False
    decouple_route: OneOf("text_only", "with_video", "fallback") = "text_only"
    max_batch_size: Optional[Int(ge=1)] = None  # the most requests the adapter takes per call
    batch_arg: Optional[Text] = None  # the adapter's batch-size argument (it batches itself)
    batch_size: Optional[Int(ge=1)] = None  # the model's default `batch_size`
    context_tokens: Optional[Int(ge=1)] = None  # rag.token_budget=auto: the LLM's context
    tokens_per_frame: Optional[Int(ge=1)] = None  # rag.token_budget=auto: visual tokens per frame
    vision_patches_per_side: Optional[Int(ge=1)] = None  # LLaVA-NeXT: patches per frame side (checkpoint pooling)
    tiny: Optional[OneOf(*TINY_BUILDERS)] = None  # a random tiny model built offline (tests)
    model_args: Optional[dict[str, Any]] = Field(None, description="the adapter's constructor arguments (a mapping, "
                                                 "checked against the adapter by the pre-flight)")
    method_args: Optional[dict[MethodName, Optional[dict[str, Any]]]] = Field(
        None, description="a mapping method name -> arguments merged over model_args under that method")


class Task(Group):  # conf/task/<name>.yaml
    name: TaskName
    schema_: OneOf(*TASK_SCHEMAS) = Field(alias="schema")  # how a dataset row maps to a question
    data_dir: Optional[PathText] = None  # a local copy; null = the bundled copy (demo) or the hub
    breakdowns: Optional[list[Text]] = Field(None, description="a list of the task schema's category keys "
                                             "(metrics.json's by_category) or null")

    @field_validator("breakdowns")
    @classmethod
    def _known_categories(cls, value: Optional[list[str]], info: Any) -> Optional[list[str]]:
        schema = info.data.get("schema_")
        known = TASK_SCHEMAS[schema].category_keys if schema in TASK_SCHEMAS else None
        if value is not None and known is not None and not set(value) <= set(known):
            raise ValueError(f"a list of category keys of task.schema={schema}: {', '.join(known)}")
        return value


class Rag(Group):  # conf/rag/<preset>.yaml
    preset: Optional[OneOf(*conf_options("rag"))] = None
    asr: Bool
    ocr: Bool
    det: Bool
    subtitles: Bool
    retrieval: Bool = True  # false: every document in time order, no retrieval filter (issue 26: rag=transcript)
    threshold: Threshold  # cosine threshold of retrieval
    order: OneOf("paper", "code")
    decouple: OneOf("auto", "fallback")
    timestamps: Bool = True
    # a budget that leaves no room for auxiliary text (0, or frames filling the context) is refused where ASR/OCR/DET
    # text is asked for (settings.check_budget)
    token_budget: Union[OneOf("auto", "none"), Int(ge=0), None] = Field(
        "auto", description="auto, none, or an integer >= 0 (tokens of auxiliary text per question)")


class Method(Group):  # conf/method/<name>.yaml
    name: MethodName
    threshold_by_task: Optional[dict[TaskName, Threshold]] = Field(  # rag.threshold per task (method=official: MLVU 0.0)
        None, description="a mapping task name -> a number in [-1, 1]")


class ASR(Group):  # aux.asr: faster-whisper
    model: Weight
    device: Device = "auto"
    compute_type: OneOf(*COMPUTE_TYPES) = "auto"
    language: Optional[Text] = Field(None, description="a Whisper language code (en, zh, ...) or null (detected)")
    vad_filter: Bool = True
    beam_size: Int(ge=1) = 5
    window: Num(gt=0) = 30.0  # seconds per ASR document
    chunking: OneOf("file", "window") = "file"
    audio_window: Num(ge=0) = 600.0  # seconds decoded + transcribed at once; 0 = the whole track
    batch_size: Int(ge=1) = 16  # faster-whisper's batched pipeline (cuda only)

    @field_validator("language")
    @classmethod
    def _whisper_language(cls, value: Optional[str]) -> Optional[str]:
        codes = whisper_languages()
        if value is not None and codes and value not in codes:
            raise ValueError("a Whisper language code (en, zh, de, ...) or null (detected per video)")
        return value


class OCR(Group):  # aux.ocr: EasyOCR
    languages: Annotated[list[Text], Field(min_length=1, description="a non-empty list of EasyOCR language codes")]
    model_dir: Optional[Weight] = None  # null = EasyOCR's default (~/.EasyOCR)
    min_confidence: Fraction = 0.5
    dedupe: OneOf("normalised", "exact") = "normalised"
    device: Device = "auto"
    batch_frames: Int(ge=1) = 8  # frames decoded (and on cuda read) at once


class Encoder(Group):  # aux.encoder: the retrieval text encoder
    kind: OneOf("hf_mean_pool", "sentence_transformers") = "hf_mean_pool"
    model: Weight
    device: Device = "auto"
    batch_size: Int(ge=1) = 32


class Keyframes(Group):  # aux.det.keyframes
    rule: OneOf(*RULES) = "paper"
    beta: Num(gt=0) = 3.0
    tau: Num(gt=0) = 0.3
    top_k: Int(ge=1) = 3
    clip_model: Optional[Weight] = None
    similarity: OneOf(*SIMILARITIES) = "cosine"
    batch_size: Int(ge=1) = 8  # CLIP frames per batch


class Detector(Group):  # aux.det.detector
    kind: OneOf(*DETECTOR_KINDS) = "owlv2"
    model: Optional[Weight] = None
    threshold: Num(ge=0.0, lt=1.0) = 0.1
    batch_size: Int(ge=1) = 4
    nms_iou: Optional[Fraction] = 0.5
    text_threshold: Fraction = 0.25


class Det(Group):  # aux.det
    entity_cleaner: OneOf(*CLEANERS) = "auto"
    keyframes: Keyframes = Keyframes()
    detector: Detector = Detector()
    relation_mode: OneOf(*RELATION_MODES) = "all"
    on_null_type: OneOf("all", "none") = "all"
    max_objects: Optional[Int(ge=1)] = None
    device: Device = "auto"


class Aux(Group):  # conf/aux/<name>.yaml
    asr: ASR
    ocr: OCR
    encoder: Encoder
    det: Det = Det()


class Generation(Group):  # generation: the answer's decoding (passed to lmms-eval as gen_kwargs)
    max_new_tokens: Int(ge=1)
    temperature: Num(ge=0) = 0
    do_sample: Bool = False
    num_beams: Int(ge=1) = 1
    top_p: Optional[Num(gt=0, le=1)] = None


class Preflight(Group):
    enabled: Bool = True
    min_free_gb: Num(ge=0) = 1.0
    hub_timeout: Num(gt=0) = 5


class Decode(Group):
    max_frames_mb: Optional[Num(ge=0)] = Field(1024, description="a number of MB >= 0 (0 or null keeps no decoded frame)")


class Config(Group):  # conf/config.yaml: python -m videorag_eval
    # top-level keys first: a refusal names the key the user typed (``device=gpu``), not the group key it
    # reaches through an interpolation (``aux.asr.device: ${device}``)
    frames: Int(ge=1)
    batch_size: Optional[Int(ge=1)] = None
    limit: Optional[Int(ge=1)]
    results_dir: PathText
    cache_dir: PathText
    force: Bool
    require_cache: Bool = False
    device: Device = "auto"
    seed: Int(ge=0, le=2**32 - 1)  # numpy's seed range
    parser: OneOf("lmms_eval", "paper")
    model: Model
    task: Task
    rag: Rag
    method: Optional[Method] = None
    aux: Aux
    generation: Generation
    preflight: Preflight = Preflight()
    decode: Decode = Decode()


class ExtractConfig(Config):  # conf/extract.yaml: python -m videorag_eval.extract
    frames: Union[Int(ge=1), Annotated[list[Int(ge=1)], Field(min_length=1)]] = Field(
        description="an integer >= 1, or a non-empty list of them (the frame counts of the sweep: frames=[16,32,64])")
    shard: Int(ge=0) = 0
    num_shards: Int(ge=1) = 1


class SlurmLauncher(Group):  # conf/hydra/launcher/slurm.yaml (hydra.launcher.*)
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    target: Text = Field(alias="_target_")
    wait: Bool = True
    skip_done: Bool = True
    skip_invalid: Bool = False
    check_resources: Bool = True
    submitit_folder: PathText
    partition: Optional[Text] = None
    account: Optional[Text] = None
    qos: Optional[Text] = None
    gpus_per_node: Optional[Int(ge=0)] = 1
    tasks_per_node: Int(ge=1) = 1
    cpus_per_task: Optional[Int(ge=1)] = 8
    mem_gb: Optional[Int(ge=1)] = 64
    nodes: Int(ge=1) = 1
    timeout_min: Int(ge=1) = 720
    constraint: Optional[Text] = None
    exclude: Optional[Text] = None
    gres: Optional[Text] = None
    comment: Optional[Text] = None
    cpus_per_gpu: Optional[Int(ge=1)] = None
    gpus_per_task: Optional[Int(ge=1)] = None
    mem_per_gpu: Optional[Text] = None
    mem_per_cpu: Optional[Text] = None
    signal_delay_s: Int(ge=0) = 300
    max_num_timeout: Int(ge=0) = 3
    array_parallelism: Int(ge=1) = 64
    name: Text = "videorag"
    stderr_to_stdout: Bool = True
    setup: Optional[list[str]] = Field(None, description="a list of shell lines or null")
    additional_parameters: Optional[dict[str, Any]] = Field(None, description="a mapping of sbatch options")


SCHEMAS: dict[str, type[Group]] = {"config": Config, "extract": ExtractConfig}


@lru_cache(maxsize=1)
def whisper_languages() -> frozenset[str]:
    """Whisper's language codes (from faster-whisper, which needs no torch); empty when it is not installed
    (the pre-flight names the missing package)."""
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
    except Exception:
        return frozenset()
    return frozenset(_LANGUAGE_CODES)


# ---------------------------------------------------------------------- refusals


_MISSING = object()


@dataclass(frozen=True)
class Refusal:
    """The first key whose value is not allowed."""

    key: str
    value: Any  # _MISSING when the key is absent
    allowed: str
    unknown: bool = False  # a key the schema does not declare

    def line(self) -> str:
        if self.unknown:
            return f"{self.key}={show(self.value)} is not a setting; allowed keys {self.allowed}"
        if self.value is _MISSING:
            return f"{self.key} is missing from the config; allowed: {self.allowed}"
        return f"{self.key}={show(self.value)} is not allowed; allowed: {self.allowed}"


def show(value: Any) -> str:
    return "null" if value is None else repr(value)


def refusal(data: dict[str, Any], schema: type[Group] = Config, prefix: str = "") -> Refusal | None:
    """``data`` (a resolved config as plain containers) checked against ``schema``: None, or the first key
    whose value is not allowed (a key the schema does not declare counts), named under ``prefix``
    (``hydra.launcher``). Nothing in ``data`` changes."""
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        return _refusal(schema, data, exc.errors()[0], [p for p in prefix.split(".") if p])
    return None


def _refusal(schema: type[Group], data: Any, error: dict[str, Any], keys: list[str]) -> Refusal:
    owner: type[Group] = schema
    node: Any = data
    loc = list(error["loc"])
    while loc:
        part = loc.pop(0)
        field = _field(owner, part) if isinstance(part, str) else None
        if field is None:  # a key the schema does not declare
            value = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
            known = ", ".join(f.alias or n for n, f in owner.model_fields.items())
            return Refusal(".".join(keys + [str(part)]), value, f"under {'.'.join(keys) or 'the top level'}: {known}",
                           unknown=True)
        name, info = field
        keys.append(info.alias or name)
        node = node.get(info.alias or name, _MISSING) if isinstance(node, dict) else _MISSING
        nested = _group_of(info.annotation)
        if nested is not None and loc and node is not _MISSING and node is not None:
            owner = nested
            continue
        allowed = describe_field(owner, name)
        if error.get("type") == "value_error":  # a validator's own check (task.breakdowns, aux.asr.language)
            allowed = str(error.get("ctx", {}).get("error", error.get("msg", "")))
        value_schema = _property(owner, name)
        if _is_mapping(info.annotation) and loc and isinstance(loc[0], str) and isinstance(node, dict):
            key = loc.pop(0)  # an entry of a mapping (method.threshold_by_task.mlvu): that entry is the key
            keys.append(key)
            node = node.get(key, _MISSING)
            if loc[:1] == ["[key]"]:  # the entry's name is not allowed (model.method_args.oficial)
                names = _mapping_part(value_schema, "propertyNames")
                return Refusal(".".join(keys), node, f"under {'.'.join(keys[:-1])}: {_describe(names, _defs(owner))}",
                               unknown=True)
            allowed = _describe(_mapping_part(value_schema, "additionalProperties"), _defs(owner))
        return Refusal(".".join(keys), node, allowed)
    return Refusal(schema.__name__, data, error.get("msg", ""))


def _field(owner: type[Group], key: str) -> tuple[str, Any] | None:
    for name, info in owner.model_fields.items():
        if key in (name, info.alias):
            return name, info
    return None


def _group_of(annotation: Any) -> type[Group] | None:
    if isinstance(annotation, type) and issubclass(annotation, Group):
        return annotation
    if get_origin(annotation) is Union:
        groups = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, Group)]
        return groups[0] if groups else None
    return None


def _is_mapping(annotation: Any) -> bool:
    if get_origin(annotation) is Union:
        return any(_is_mapping(a) for a in get_args(annotation))
    return get_origin(annotation) is dict


# ---------------------------------------------------------------------- what a key allows, in words


@lru_cache(maxsize=None)
def _json_schema(owner: type[Group]) -> dict[str, Any]:
    return owner.model_json_schema(by_alias=True)


def _defs(owner: type[Group]) -> dict[str, Any]:
    return _json_schema(owner).get("$defs", {})


def _property(owner: type[Group], name: str) -> dict[str, Any]:
    info = owner.model_fields[name]
    return _json_schema(owner)["properties"][info.alias or name]


def describe_field(owner: type[Group], name: str) -> str:
    """The values ``owner.<name>`` allows, in words (its ``description`` when the declaration has one)."""
    return _describe(_property(owner, name), _defs(owner))


def _mapping_part(prop: dict[str, Any], part: str) -> dict[str, Any]:
    """A mapping-typed key's schema of its entries' values (``additionalProperties``) or names (``propertyNames``)."""
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "object":
            return option.get(part, {})
    return {}


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _describe(s: dict[str, Any], defs: dict[str, Any]) -> str:
    if "description" in s:
        return s["description"]
    if "$ref" in s:
        return _describe(defs[s["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in s:
        options = [o for o in s["anyOf"] if o.get("type") != "null"]
        text = ", or ".join(_describe(o, defs) for o in options)
        return text + (" or null" if len(options) < len(s["anyOf"]) else "")
    if "enum" in s or "const" in s:
        return ", ".join("true" if v is True else "false" if v is False else str(v) for v in s.get("enum", [s.get("const")]))
    kind = s.get("type")
    if kind == "boolean":
        return "true, false"
    if kind in ("integer", "number"):
        text = "an integer" if kind == "integer" else "a number"
        low, high = s.get("minimum", s.get("exclusiveMinimum")), s.get("maximum", s.get("exclusiveMaximum"))
        if low is not None and high is not None:
            return (f"{text} in {'(' if 'exclusiveMinimum' in s else '['}{_number(low)}, {_number(high)}"
                    f"{')' if 'exclusiveMaximum' in s else ']'}")
        if low is not None:
            return f"{text} {'>' if 'exclusiveMinimum' in s else '>='} {_number(low)}"
        if high is not None:
            return f"{text} {'<' if 'exclusiveMaximum' in s else '<='} {_number(high)}"
        return text
    if kind == "string":
        return "a string"
    if kind == "array":
        return f"a list of ({_describe(s.get('items', {}), defs)})" if s.get("items") else "a list"
    if kind == "object":
        return "a mapping" if "properties" not in s else "a group of settings"
    return "any value"


# ---------------------------------------------------------------------- coverage and the table of keys


def uncovered(data: Any, schema: type[Group] = Config, prefix: str = "") -> list[str]:
    """The leaves of ``data`` (dotted keys) that ``schema`` does not declare; under a mapping-typed key
    (``model.model_args``) every leaf is the mapping's own."""
    out: list[str] = []
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        field = _field(schema, str(key))
        path = f"{prefix}{key}"
        if field is None:
            out.append(path)
            continue
        nested = _group_of(field[1].annotation)
        if nested is not None:
            out += uncovered(value, nested, path + ".")
    return out


def keys(schema: type[Group] = Config, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, allowed values in words) of every key ``schema`` declares, groups expanded."""
    out: list[tuple[str, str]] = []
    for name, info in schema.model_fields.items():
        key = prefix + (info.alias or name)
        nested = _group_of(info.annotation)
        if nested is not None:
            out += keys(nested, key + ".")
        else:
            out.append((key, describe_field(schema, name)))
    return out


def table() -> str:
    """docs/configuration.md's table of every setting (``python -m videorag_eval.cell.config_schema`` prints it)."""
    rows = ["| key | allowed values |", "|---|---|"]
    main = dict(keys(Config))
    rows += [f"| `{key}` | {allowed} |" for key, allowed in main.items()]
    rows += [f"| `{key}` (`python -m videorag_eval.extract`) | {allowed} |" for key, allowed in keys(ExtractConfig)
             if main.get(key) != allowed]
    rows += [f"| `hydra.launcher.{key}` (`hydra/launcher=slurm`) | {allowed} |" for key, allowed in keys(SlurmLauncher)]
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
