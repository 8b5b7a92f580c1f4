"""What the batch page shows about triturations: the chain behind the API, the lot a trituration
batch made, and the warning before any weighing when the API amount fits no usable balance."""

from dataclasses import dataclass

from qa_app.models import Batch, MaterialLot
from qa_app.services import triturations


@dataclass(frozen=True)
class TriturationView:
    chain: list[triturations.Link]
    """The lots behind the batch's API, shown when one of them was made in house."""
    chain_text: str
    produced: MaterialLot | None
    warning: triturations.SmallQuantity | None

    @property
    def made_from_trituration(self) -> bool:
        return any(link.made_in is not None for link in self.chain)


def load(batch: Batch) -> TriturationView:
    links = triturations.batch_chain(batch)
    return TriturationView(
        chain=links,
        chain_text=triturations.chain_text(links, batch),
        produced=batch.produced_lot if batch.dosage_form == "trituration" else None,
        warning=triturations.small_quantity(batch),
    )
