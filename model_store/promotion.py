"""The promotion gate: whether a shadow candidate may become current (:meth:`ModelStore.promote` makes it so).

The running detectors score a candidate of ``logsentry models shadow`` beside the current
model; the share of records the two judged differently is read back from the shadow topic by
the stream side (``stream.shadow``) and handed in here as a plain number.
"""

from __future__ import annotations

from logsentry.errors import StoreError

DEFAULT_MAX_DISAGREEMENT = 0.01  # share of records the two models judge differently


def shadow_gate(
    version: str,
    disagreement: float | None,
    *,
    shadow_topic: str,
    max_disagreement: float = DEFAULT_MAX_DISAGREEMENT,
    force: bool = False,
) -> None:
    """Refuse ``version`` (a :class:`StoreError`) when it disagreed with the current model on more than
    ``max_disagreement`` of the records both scored, unless ``force``.

    ``disagreement`` None: not known (never scored in shadow, or not read): nothing to refuse.
    """
    if disagreement is not None and disagreement > max_disagreement and not force:
        raise StoreError(
            f"{version} disagrees with the current model on {disagreement:.2%} of records, above the gate of "
            f"{max_disagreement:.2%}: read the shadow topic {shadow_topic!r}, or --force to promote anyway"
        )
