"""Model cards: the ``README.md`` that :func:`glyphvae.hub.push_to_hub` writes for a Hub repo.

A generated card starts with YAML front matter (``library_name: glyphvae``, tags, licence,
datasets), then lists the models in the repo, shows how to load them, gives each model's
evaluation table (from ``metadata["report"]``, else ``metadata["final_metrics"]``), its sample
grid when the repo has one, and the attribution its training data requires.

Generated cards carry :data:`GENERATED_MARKER`. glyphvae regenerates only cards that carry it;
a card without it was written by a person and is never overwritten. Delete the marker line
to keep your edits.

>>> card = render_model_card("org/glyphs", {"epsilon": {"class_name": "GlyphVAE",
...                                                     "letter": "epsilon", "image_size": 32}})
>>> card.splitlines()[1]
'library_name: glyphvae'
>>> is_generated_card(card)
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["GENERATED_MARKER", "is_generated_card", "metric_rows", "render_model_card"]

GENERATED_MARKER = "<!-- glyphvae:generated-card -->"
"""First body line of every card glyphvae writes; cards without it are hand-written."""

TAGS = (
    "glyphvae",
    "keras",
    "vae",
    "image-generation",
    "ancient-greek",
    "papyrology",
    "ocr",
    "data-augmentation",
)
_CC_BY = "https://creativecommons.org/licenses/by/4.0/"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]*")
MAX_METRIC_ROWS = 30


def is_generated_card(text: str) -> bool:
    """Whether a card was written by glyphvae (and may therefore be regenerated).

    >>> is_generated_card("# My model\\nHand-written.")
    False
    """
    return GENERATED_MARKER in text


def _yaml_scalar(value: str) -> str:
    # JSON strings are valid YAML flow scalars, so anything unusual is quoted as JSON.
    return value if _PLAIN.fullmatch(value) else json.dumps(value, ensure_ascii=False)


def _yaml_list(key: str, values: list[str]) -> list[str]:
    return [f"{key}:", *(f"- {_yaml_scalar(v)}" for v in values)] if values else []


def _data_info(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    data = meta.get("data")
    return data if isinstance(data, Mapping) else {}


def _license(models: Mapping[str, Mapping[str, Any]]) -> str | None:
    """``cc-by-4.0`` when any model was trained on CC BY data (Hell-Char), else unknown."""
    for meta in models.values():
        data = _data_info(meta)
        licence = str(data.get("license", "")).lower().replace("_", "-")
        if licence in ("cc-by-4.0", "cc by 4.0") or data.get("name") == "Hell-Char":
            return "cc-by-4.0"
    return None


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        out.append((prefix, value))
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)


def metric_rows(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The evaluation table of a model: ``metadata["report"]``, else ``["final_metrics"]``.

    Nested dicts become dotted names; only numbers are kept.

    >>> metric_rows({"report": {"precision": 0.5, "kid_x1000": {"mean": 1.25}, "letter": "e"}})
    [('precision', '0.5'), ('kid_x1000.mean', '1.25')]
    """
    source = metadata.get("report")
    if not isinstance(source, Mapping) or not source:
        source = metadata.get("final_metrics")
    rows: list[tuple[str, Any]] = []
    if isinstance(source, Mapping):
        _flatten("", source, rows)
    return [
        (name, f"{v:.4g}" if isinstance(v, float) else str(v)) for name, v in rows[:MAX_METRIC_ROWS]
    ]


def _cell(value: Any) -> str:
    return "—" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _usage(repo_id: str, names: list[str]) -> list[str]:
    first = names[0] if names else "epsilon"
    several = len(names) > 1
    letter_arg = f', letter="{first}"' if several else ""
    model_arg = f"hf://{repo_id}/{first}" if several else repo_id
    return [
        "## Usage",
        "",
        "```python",
        "from glyphvae.hub import from_pretrained",
        "",
        f'model = from_pretrained("hf://{repo_id}"{letter_arg})',
        "glyphs = model.generate(16, seed=0)  # float32 RGB in [0, 1]",
        "```",
        "",
        "```bash",
        "pip install glyphvae",
        f"glyphvae pull {repo_id}  # download once; later runs work offline",
        f"glyphvae sample --model {model_arg} -n 64 --out samples.png",
        "```",
        "",
    ]


def render_model_card(
    repo_id: str,
    models: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, str] | None = None,
) -> str:
    """Write the ``README.md`` of a Hub repo holding glyphvae models.

    Args:
        repo_id: The repo, ``"org/name"``.
        models: Model name (a letter, or ``"classifier"``) to that model's ``metadata.json``.
        samples: Model name to the repo path of its sample grid (e.g. ``"epsilon/samples.png"``).

    Returns:
        The card as Markdown with YAML front matter, marked as generated.
    """
    samples = dict(samples or {})
    names = list(models)
    licence = _license(models)
    datasets = sorted(
        {str(_data_info(m)["name"]) for m in models.values() if _data_info(m).get("name")}
    )
    letters = [str(m["letter"]) for m in models.values() if m.get("letter")]
    front = [
        "---",
        "library_name: glyphvae",
        *([f"license: {licence}"] if licence else []),
        *_yaml_list("tags", [*TAGS, *letters]),
        *_yaml_list("datasets", datasets),
        "pipeline_tag: unconditional-image-generation",
        "---",
    ]
    body = [
        GENERATED_MARKER,
        "<!-- Written by glyphvae. Delete the line above to keep your edits: glyphvae never "
        "overwrites a card without it. -->",
        "",
        f"# {repo_id}",
        "",
        "Variational autoencoders from [glyphvae](https://github.com/glyphvae/glyphvae), one "
        "per ancient Greek letter, that generate new glyph images for OCR training sets.",
        "",
        "| model | class | image size | parameters | trained | glyphvae |",
        "|---|---|---|---|---|---|",
    ]
    for name, meta in models.items():
        versions = meta.get("versions")
        version = versions.get("glyphvae") if isinstance(versions, Mapping) else None
        body.append(
            f"| {_cell(name)} | {_cell(meta.get('class_name'))} | {_cell(meta.get('image_size'))} "
            f"| {_cell(meta.get('parameters'))} | {_cell(meta.get('training_status'))} "
            f"| {_cell(version)} |"
        )
    body += ["", *_usage(repo_id, names)]

    evaluated = [(name, metric_rows(meta)) for name, meta in models.items()]
    if any(rows for _, rows in evaluated):
        body += ["## Evaluation", ""]
        for name, rows in evaluated:
            if rows:
                body += [f"### {name}", "", "| metric | value |", "|---|---|"]
                body += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
                body.append("")
    if samples:
        body += ["## Samples", ""]
        body += [f"![{name}: generated glyphs]({path})" for name, path in samples.items()]
        body.append("")

    attributions = {
        str(_data_info(m)["attribution"])
        for m in models.values()
        if _data_info(m).get("attribution")
    }
    body += ["## Training data and attribution", ""]
    if attributions:
        body += [*sorted(attributions), ""]
        if licence == "cc-by-4.0":
            body += [
                f"The training images are licensed [CC BY 4.0]({_CC_BY}); these weights are "
                "derived from them and are shared under the same licence with this attribution.",
                "",
            ]
    else:
        body += ["The training data of these models is not recorded in their metadata.", ""]
    body += [
        "## Files",
        "",
        "`glyphvae.json` lists the models with the sha256 of every file. Each model folder "
        "holds `config.json` (hyperparameters), `model.weights.h5` (Keras HDF5 weights only) "
        "and `metadata.json` (versions, training data, metrics). Loading reads JSON and HDF5 "
        "only: no pickles, no code, no `.keras` archives.",
        "",
    ]
    return "\n".join(front + body)
