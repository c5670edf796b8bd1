"""Loading, saving and sharing models: :func:`from_pretrained`, :func:`save_pretrained`,
:func:`push_to_hub` and :func:`pull`.

**Sources.** :func:`from_pretrained` (and every ``--model`` option of the CLI) accepts, tried
in this order:

* a local folder: one saved model (``config.json``, ``model.weights.h5``, ...), a folder of
  letter folders (``runs/epsilon``, ``runs/alpha``), or a downloaded repo with a manifest;
* a preset name shipped in the package (``"epsilon"``, ``"alpha"``, ``"classifier"``, or a
  letter alias such as ``"ε"``), see :mod:`glyphvae.presets`;
* a Hugging Face Hub repo: ``hf://org/name`` or ``org/name``, optionally pinned with
  ``@revision``; with ``hf://`` a trailing letter picks one model: ``hf://org/name@v1/epsilon``.

**Hub repo format.** One repo holds one model or a whole alphabet::

    glyphvae.json             manifest (below)
    README.md                 model card, generated unless you wrote your own
    epsilon/config.json       one folder per letter: the plain files of glyphvae.saving
    epsilon/model.weights.h5
    epsilon/metadata.json
    epsilon/samples.png       optional sample grid, shown in the card
    alpha/...

``glyphvae.json``::

    {"format": "glyphvae", "manifest_version": 1,
     "letters": ["alpha", "epsilon"], "image_size": 64, "versions": {"glyphvae": "0.1.0"},
     "models": {"epsilon": {"path": "epsilon", "class_name": "GlyphVAE", "letter": "epsilon",
                            "image_size": 64, "format_version": 1, "versions": {...},
                            "files": {"config.json": {"sha256": "…", "size": 1234}, ...}}}}

Models are keyed by letter (the judge classifier by ``"classifier"``); ``letters`` lists the
letters in alphabet order and ``image_size`` is theirs when they share one. A repo without a
manifest but with ``config.json`` and ``model.weights.h5`` at its root is one model.

**Pushing.** :func:`push_to_hub` uploads from a temporary folder in one commit, each letter
into its own folder, so pushing letters one at a time builds an alphabet. A card without the
marker of :mod:`glyphvae.model_card` is hand-written and never replaced. Local paths are
dropped from the uploaded ``metadata.json``.

**Safety.** Only the files named above are downloaded (never ``.keras`` archives, pickles or
code). Each is checked against the manifest's size and sha256; a mismatch removes it from the
cache and raises. Loading then applies the strict checks of :mod:`glyphvae.saving`.

**Environment.** ``HF_TOKEN``, ``HF_HOME``/``HF_HUB_CACHE`` and ``HF_ENDPOINT`` are used as
huggingface_hub defines them; with ``HF_HUB_OFFLINE=1`` or ``GLYPHVAE_OFFLINE=1`` nothing is
downloaded and a repo fetched once before loads from the cache.
"""

from __future__ import annotations

from glyphvae.hub.download import (
    from_pretrained,
    is_offline,
    pull,
    read_metadata_of,
    resolve_model_dir,
    save_pretrained,
)
from glyphvae.hub.push import push_to_hub
from glyphvae.hub.sources import (
    CARD_FILE,
    MANIFEST_FILE,
    MODEL_FILES,
    HubSource,
    parse_hub_source,
    read_manifest,
    resolve_local,
)

__all__ = [
    "CARD_FILE",
    "MANIFEST_FILE",
    "MODEL_FILES",
    "HubSource",
    "from_pretrained",
    "is_offline",
    "parse_hub_source",
    "pull",
    "push_to_hub",
    "read_manifest",
    "read_metadata_of",
    "resolve_local",
    "resolve_model_dir",
    "save_pretrained",
]
