"""The zero-shot label-embedding model and its prediction pipeline.

Modules, one concept each:

* :mod:`~icdbridge.model.encoder` — local Hugging Face text encoder, windows, pooling.
* :mod:`~icdbridge.model.label_text` / :mod:`~icdbridge.model.label_cache` — label texts built
  from a terminology and their cached embeddings for a whole release.
* :mod:`~icdbridge.model.retrieval` — faiss candidate shortlist over the full label space.
* :mod:`~icdbridge.model.lexical` — the lexical (dictionary) channel.
* :mod:`~icdbridge.model.hierarchy`, :mod:`~icdbridge.model.scorer`,
  :mod:`~icdbridge.model.network` — hierarchy mixing, label-wise attention, the ``nn.Module``.
* :mod:`~icdbridge.model.losses`, :mod:`~icdbridge.model.calibration`,
  :mod:`~icdbridge.model.memory` — loss functions, generalized zero-shot calibration, training
  memory features.
* :mod:`~icdbridge.model.datamodule`, :mod:`~icdbridge.model.lightning`,
  :mod:`~icdbridge.model.training` — Lightning data module, module and the training loop.
* :mod:`~icdbridge.model.pretrained`, :mod:`~icdbridge.model.predictor` — save/load and the
  end-to-end predictor.

Nothing here is imported by ``import icdbridge``; torch is loaded only when a module is used.
"""
