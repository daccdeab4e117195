"""An integrator's generated client: openapi-python-client over contracts/openapi/platform.json
(with the repository's configuration, which only maps application/xml to bytes) generates with
no warning, and its typed calls drive submit → status → payment → report through the gateway of
the embedded platform."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "contracts" / "openapi" / "platform.json"
CONFIG = ROOT / "contracts" / "openapi" / "openapi-python-client.yaml"


def generate(out: Path) -> str:
    done = subprocess.run(
        [
            sys.executable, "-m", "openapi_python_client", "generate",
            "--path", str(SPEC), "--config", str(CONFIG),
            "--meta", "none", "--output-path", str(out / "lgsp_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_generated_client_drives_a_dossier_to_the_report(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    output = generate(tmp_path)
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        flow(sqlite_platform, importlib.import_module)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "lgsp_client" or m.startswith("lgsp_client.")]:
            del sys.modules[name]


def flow(p: Platform, load: Any) -> None:
    client_mod = load("lgsp_client")
    models = load("lgsp_client.models")
    submit = load("lgsp_client.api.dossier_dossiers.dossier_submit_dossier")
    status = load("lgsp_client.api.dossier_dossiers.dossier_change_dossier_status")
    pay = load("lgsp_client.api.dossier_dossiers.dossier_record_dossier_payment")
    get = load("lgsp_client.api.dossier_dossiers.dossier_get_dossier")
    report = load("lgsp_client.api.reporting_reporting.reporting_get_phu_luc_ii")

    client = client_mod.AuthenticatedClient(base_url=p.gateway, token=p.demo_token(), timeout=30)
    created = submit.sync_detailed(
        client=client,
        body=models.DossierCreate(
            procedure_code="1.004873",  # Cấp Giấy xác nhận tình trạng hôn nhân: fee-bearing
            organ_code="000.01.31.H03",
            channel=models.DossierCreateChannel(2),
            applicant=models.DossierApplicantInput(
                type_=models.DossierApplicantInputType(1),
                name="Lê Văn Cường",
                identifier="024090009012",
            ),
        ),
    )
    assert created.status_code == 201, created.content
    dossier = created.parsed
    assert isinstance(dossier, models.DossierOut)
    assert dossier.status == 1

    received = status.sync_detailed(
        dossier.code,
        client=client,
        body=models.DossierStatusChange(status=models.DossierStatusChangeStatus(2)),
    )
    assert received.status_code == 200, received.content
    assert received.parsed.status == 2

    paid = pay.sync_detailed(
        dossier.code,
        client=client,
        body=models.DossierPaymentCreate(
            amount=50000,
            method=models.DossierPaymentCreateMethod("online"),
            online_gateway=models.DossierPaymentCreateOnlineGatewayType0(1),
        ),
    )
    assert paid.status_code == 201, paid.content

    read = get.sync_detailed(dossier.code, client=client).parsed
    assert isinstance(read, models.DossierOut)
    assert [(x.amount, str(x.method)) for x in read.payments] == [(50000, "online")]

    # A refusal is the typed problem, not an exception.
    missing = get.sync_detailed("000.01.31.H03-000000-000000", client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.DossierProblem)
    assert missing.parsed.code == "dossier_not_found"

    year = str(read.submitted_at.year)
    annex = report.sync_detailed(client=client, period=year)
    assert annex.status_code == 200, annex.content
    assert isinstance(annex.parsed, models.Report)
    stts = [row.stt for row in annex.parsed.rows]
    assert {"6.3", "6.4", "TT.1"} <= set(stts)
    with httpx.Client(base_url=p.gateway) as plain:
        assert plain.get("/openapi.json").status_code == 200
