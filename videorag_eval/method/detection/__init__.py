"""The DET branch of Video-RAG: requested entities -> keyframes -> boxes -> scene-graph text.

For one question the decoupled request gives entity phrases (``DET``) and the facts wanted
(``TYPE``: location / relation / number). The branch

1. cleans the phrases into short entity names (``entities``: spaCy noun filter, or a documented
   pure-Python fallback); without a DET list, entities come from the question text;
2. picks keyframes among the frames given to the LVLM (``keyframes``: CLIP with the official
   ``paper`` rule or ``top_k``; or every frame);
3. detects the entities in the keyframes (``detectors``: OWLv2 by default, Grounding DINO, or the
   offline demo's ``ColourBlobDetector`` in ``blobs``);
4. turns each keyframe's boxes into scene-graph text (``scene_graph``) and one ``AuxDoc`` per
   keyframe (``pipeline.DetectionPipeline``), rendered into the prompt by ``prompt.render_det_block``.

CLIP embeddings and detections are cached (namespaces ``clip_image``, ``clip_text``,
``detections``); models load only on a cache miss. Each module imports torch, transformers or
spaCy only inside the functions that need them.

Where things are (import them from their modules)::

    entities     clean_entities(phrases, cleaner="auto") -> (list[str], "spacy" | "fallback")
                 entities_from_question(text, cleaner="auto", max_entities=5) -> list[str]
    boxes        Box(label, score, x0, y0, x1, y1)          # original-frame pixels; nms, iou
    keyframes    AllFrames() / ClipKeyframes(cache, model, rule, beta, top_k, tau, device)
    detectors    Owlv2Detector(model, threshold, batch_size, device, nms_iou) / GroundingDinoDetector(...)
    blobs        ColourBlobDetector(threshold, tolerance, min_area, fill_cut)   # the offline demo's
    scene_graph  scene_graph_text(boxes, types, relation_mode="all") -> str
    pipeline     DetectionPipeline(cfg, cache).run(video_path, video_hash, frames, entities, types) -> DetResult

See ``pipeline`` for the config keys and their defaults.
"""
