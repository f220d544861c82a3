"""Folders of files: one result per file, sorted, the same with one worker or two.

The corpus is the demo's output (real trust directory, signed contracts, a seal) plus
a tampered copy and a file that is no PDF at all.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from sealbridge.demo.scenario import run_demo
from sealbridge.verify.batch import FileResult, Input, Options, collect, verify_all
from sealbridge.verify.policy import DEFAULT_POLICY


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(trust directory, folder of files to verify)."""
    demo = run_demo(tmp_path_factory.mktemp("batch") / "out").out_dir
    root = tmp_path_factory.mktemp("corpus")
    (root / "a").mkdir()
    (root / "b" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    good = (demo / "signed" / "contract-sz-hk.pdf").read_bytes()
    (root / "a" / "contract-sz-hk.pdf").write_bytes(good)
    marker = good.index(b"/Title")
    (root / "a" / "tampered.PDF").write_bytes(good[:marker] + b"/Titlf" + good[marker + 6 :])
    (root / "b" / "junk.pdf").write_bytes(b"%PDF-1.7 this is not a PDF")
    shutil.copy(next((demo / "seals").glob("*.esl")), root / "b" / "deeper" / "seal.esl")
    (root / "b" / "notes.txt").write_text("not a signed file")
    (root / ".hidden" / "copy.pdf").write_bytes(good)
    return demo / "trust", root


def _options(trust: Path) -> Options:
    return Options(trust, ("SZ", "HK"), DEFAULT_POLICY, offline=True)


def _outcome(results: list[FileResult], root: Path) -> list[tuple[str, object]]:
    return [
        (
            r.path.relative_to(root).as_posix(),
            r.error
            if r.report is None
            else [(s.id, s.indication.value, s.sub_indication) for s in r.report.signatures],
        )
        for r in results
    ]


def test_folders_are_walked_for_known_kinds(corpus: tuple[Path, Path]) -> None:
    _, root = corpus
    found = [i.path.relative_to(root).as_posix() for i in collect([root])]
    assert found == ["a/contract-sz-hk.pdf", "a/tampered.PDF", "b/deeper/seal.esl", "b/junk.pdf"]
    assert not any(i.named for i in collect([root]))


def test_named_files_are_marked_and_not_repeated(corpus: tuple[Path, Path]) -> None:
    _, root = corpus
    named = root / "b" / "junk.pdf"
    inputs = collect([named, root])
    assert [i.path for i in inputs].count(named) == 1
    assert Input(named, named=True) in inputs


def test_one_result_per_file_in_path_order(corpus: tuple[Path, Path]) -> None:
    trust, root = corpus
    results = verify_all(collect([root]), _options(trust), workers=1)
    outcome = dict(_outcome(results, root))
    assert list(outcome) == sorted(outcome)
    good = outcome["a/contract-sz-hk.pdf"]
    assert isinstance(good, list) and {i for _, i, _ in good} == {"TOTAL-PASSED"}
    tampered = outcome["a/tampered.PDF"]
    assert isinstance(tampered, list) and ("HASH_FAILURE" in {s for _, _, s in tampered})
    assert isinstance(outcome["b/junk.pdf"], str) and "malformed PDF" in outcome["b/junk.pdf"]
    assert isinstance(outcome["b/deeper/seal.esl"], list)
    accepted = {r.path.name: r.report is not None and r.report.accepted for r in results}
    assert accepted == {
        "contract-sz-hk.pdf": True,
        "tampered.PDF": False,
        "junk.pdf": False,
        "seal.esl": False,  # offline: the maker's revocation is unknown
    }


def test_two_workers_give_the_same_results(corpus: tuple[Path, Path]) -> None:
    trust, root = corpus
    inputs = collect([root])
    one = verify_all(inputs, _options(trust), workers=1)
    seen: list[Path] = []
    two = verify_all(inputs, _options(trust), workers=2, done=lambda r: seen.append(r.path))
    assert _outcome(one, root) == _outcome(two, root)
    assert sorted(seen) == [i.path for i in inputs]


def test_results_hold_no_part_of_the_document(corpus: tuple[Path, Path]) -> None:
    """A worker sends each result back to the parent: it must be the report, not the
    parsed PDF behind it (a pyHanko string once dragged the whole reader along)."""
    trust, root = corpus
    contract = root / "a" / "contract-sz-hk.pdf"
    (result,) = verify_all(collect([contract]), _options(trust), workers=1)
    assert result.report is not None
    assert all(type(s.id) is str for s in result.report.signatures)
    assert len(pickle.dumps(result)) < contract.stat().st_size / 4


def test_an_unknown_kind_named_by_hand_is_a_result_not_a_crash(
    corpus: tuple[Path, Path], tmp_path: Path
) -> None:
    trust, _ = corpus
    odd = tmp_path / "contract.bin"
    odd.write_bytes(b"\x00\x01 not anything")
    (result,) = verify_all(collect([odd]), _options(trust), workers=1)
    assert result.report is None and result.named
    assert result.error is not None and "no verifier for .bin files" in result.error
