"""The demo story: a small, realistic farm-to-table province in 杭州 (design.md §9), as signed
messages for a ledger, and the codes worth scanning in it.

- **Food (浙食链)**: a vegetable cooperative tests and certifies a lot of 小青菜, packs it into a
  case and ships it to a wholesale market; the market checks the certificate at entry (进货查验),
  issues its own purchaser certificate linked to the farm's, and ships to a supermarket that
  sells it. A second lot is recalled after an official sampling fails; one certificate is voided
  and reissued.
- **Import cold chain (浙冷链)**: an importer declares frozen beef with the 三证 (quarantine,
  nucleic-acid, disinfection certificates); the 集中监管仓 stores and disinfects it, assigns
  cold-chain codes to each package, records the container temperature (one excursion, still
  open: the market downstream sees it), releases it to a cold store, which ships to the market.
  In a second container one package's sample tests positive after release: the whole
  declaration is frozen, and the sibling the cold store sold on raises an alert. A third batch's
  核酸 and 消毒 papers failed; the warehouse shipped it anyway (frozen, with alerts). A fourth
  went from the importer straight to the market without a 溯源码 (attention).
- **Vaccines (浙苗链)**: a maker's lot is released (批签发), packed case → box → dose, shipped to
  the provincial distributor, a district CDC and a clinic, and administered to people known to
  the ledger only by keyed pseudonyms; adverse events (AEFI) are reported; one case of each
  vaccine rule (docs/vaccines.md).
- **Drugs**: boxes with a 药品追溯码 reach a pharmacy; one is dispensed, then sold again (回流药).

Deterministic for a seed. :func:`build_demo` tells the story in order (``story``: the food
chain; ``cold_chain``, ``vaccines``, ``drugs``: the other chains); :class:`DemoData` holds the
signed messages it makes. ``suyuan demo`` loads them into a ledger and serves it. Builders other
code reuses (farm lots in bulk, a vegetable certificate) live in :mod:`suyuan.scenario`.
"""

from __future__ import annotations

from suyuan_demo.data import DemoData
from suyuan_demo.story import build_demo
from suyuan_demo.vaccines import DEMO_PSEUDONYM_SECRET, demo_pseudonym

__all__ = ["DEMO_PSEUDONYM_SECRET", "DemoData", "build_demo", "demo_pseudonym"]
