"""`lgsp edxml inspect FILE`: one JSON object with the keys DESIGN.md names."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lgsp.cli import cli
from tests.contracts.edxml.conftest import SAMPLES, sample

KEYS = {
    "kind",
    "from",
    "to",
    "document_id",
    "code_number",
    "code_notation",
    "promulgation_date",
    "document_type",
    "subject",
    "business",
    "attachments",
    "status",
    "signature",
}


def _inspect(path: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["edxml", "inspect", str(path), *extra])
    return result.exit_code, result.stdout, result.stderr


def test_inspect_prints_a_document_package() -> None:
    sample("resources_edoc_replacement.edxml")
    code, out, _ = _inspect(SAMPLES / "resources_edoc_replacement.edxml")
    assert code == 0
    summary = json.loads(out)
    assert set(summary) == KEYS
    assert summary["kind"] == "document"
    assert summary["from"] == {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"}
    assert [t["organ_id"] for t in summary["to"]] == [
        "000.00.00.H41",
        "000.00.00.H14",
        "000.00.00.G17",
    ]
    assert summary["document_id"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert (summary["code_number"], summary["code_notation"]) == ("7816", "VPCP-TTĐT")
    assert summary["promulgation_date"] == "2018-09-28"
    assert summary["document_type"] == {"type": 1, "detail": 0, "name": "Công văn"}
    assert summary["subject"] == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert summary["business"] == {
        "doc_type": "replace",
        "reason": "Văn bản thay thế",
        "document_id": None,
    }
    assert summary["attachments"] == [
        {"name": "1896_QD-TTg_m_294779.doc", "content_type": "application/zip", "size": 270823}
    ]
    assert summary["status"] is None
    assert summary["signature"] == {"present": True, "algorithm": "rsa-sha1", "valid": None}


def test_inspect_prints_a_status_package() -> None:
    sample("resources_status_change-acceptance_15.edxml")
    code, out, _ = _inspect(SAMPLES / "resources_status_change-acceptance_15.edxml")
    assert code == 0
    summary = json.loads(out)
    assert set(summary) == KEYS
    assert summary["kind"] == "status"
    assert summary["from"]["organ_id"] == "000.00.00.H41"
    assert (summary["to"], summary["attachments"]) == ([], [])
    assert summary["document_id"] is None and summary["business"] is None
    assert summary["status"] == {
        "code": "15",
        "description": "Văn thư đồng ý yêu cầu cập nhật, lấy lại",
        "timestamp": "2015-09-20T11:08:36+07:00",
        "response_for": {
            "organ_id": "000.00.00.G22",
            "code": "7816/VPCP-TTĐT",
            "document_id": "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
        },
    }
    assert summary["signature"] == {"present": False, "algorithm": None, "valid": None}


def test_inspect_refuses_the_malformed_sample_in_one_line() -> None:
    sample("resources_edoc.edxml")
    code, out, err = _inspect(SAMPLES / "resources_edoc.edxml")
    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "line 74: not well-formed XML" in err


def test_inspect_of_a_missing_file_fails(tmp_path: Path) -> None:
    code, out, err = _inspect(tmp_path / "absent.edxml")
    assert code != 0 and out == ""
    assert "absent.edxml" in err and len(err.strip().splitlines()) == 1


def test_inspect_checks_a_signature_against_a_trusted_certificate(tmp_path: Path) -> None:
    from dataclasses import replace

    from contracts.edxml import read, sign, write
    from tests.contracts.edxml.test_signature import _key_and_certificate

    key, pem = _key_and_certificate("000.00.00.G22")
    package = read(sample("resources_status_inbox_01.edxml"))
    signed = tmp_path / "signed.edxml"
    signed.write_bytes(sign(write(replace(package, signature=None)), key, pem))
    trusted = tmp_path / "g22.pem"
    trusted.write_text(pem)
    code, out, _ = _inspect(signed, "--cert", str(trusted))
    assert code == 0
    assert json.loads(out)["signature"] == {
        "present": True,
        "algorithm": "rsa-sha256",
        "valid": True,
    }
    code, out, _ = _inspect(signed)
    assert json.loads(out)["signature"]["valid"] is None
    _, stranger = _key_and_certificate("000.00.00.H41")
    trusted.write_text(stranger)
    code, out, _ = _inspect(signed, "--cert", str(trusted))
    assert code == 0 and json.loads(out)["signature"]["valid"] is False
