"""The public label routes (``/c/{code}/label.pdf|png``, docs/labels.md) against an anonymous
caller asking for the most they allow: the answer stays quick and small, and the last of N
labels is as scannable as the first; a hostile product name is drawn as text."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from suyuan.label_print import MAX_COPIES
from tests.integration import test_food_chain
from tests.integration.test_food_chain import BASE_URL, Services
from tests.integration.test_labels import _decode, _pdf_text, _tool

services = test_food_chain.services  # the capture and query APIs on one ledger


def test_the_most_copies_of_the_largest_label_are_quick_and_the_last_one_scans(
    services: Services, tmp_path: Path
) -> None:
    s = services
    name = "<script>alert(1)</script> =1+1 " + "长" * 60
    code = s.issued(s.chain.farm, s.certificate_body([], product_name=name))
    started = time.monotonic()
    answer = s.query.get(
        f"/c/{code}/label.pdf", params={"copies": str(MAX_COPIES), "size": "100x70"}
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 200
    # Drawn once and shown on every page: about 250 kB and a fraction of a second (each page
    # drawn anew made 1.5 MB in about 3 s).
    assert len(answer.content) < 500_000
    assert elapsed < 2.0, f"{MAX_COPIES} labels took {elapsed:.2f} s"

    pdf = tmp_path / "many.pdf"
    pdf.write_bytes(answer.content)
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True)
    assert f"Pages:           {MAX_COPIES}" in info.stdout
    last = str(MAX_COPIES)
    page = ["-f", last, "-l", last]
    render = [_tool("pdftoppm"), "-r", "300", "-png", "-singlefile", *page, str(pdf)]
    subprocess.run([*render, str(tmp_path / "last")], check=True)
    assert _decode(tmp_path / "last.png").startswith(f"{BASE_URL}/c/{code}")
    assert "<script>alert(1)</script>" in _pdf_text(answer.content, tmp_path)
