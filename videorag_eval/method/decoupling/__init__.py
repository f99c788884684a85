"""Query decoupling: the LVLM is asked (before answering) which auxiliary information a question needs.

``prompt`` builds the request prompt (the JSON keys ASR / DET / TYPE explained, three worked
examples, "do not answer yet"); ``parse`` reads the model's reply into a ``DecoupledRequest``
(JSON repaired by ``json-repair`` when needed, values coerced with a note for each coercion).
"""
