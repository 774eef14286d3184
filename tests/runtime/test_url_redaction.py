"""Issue 11 finding 7 / item 7: user-info written in a URL (a connector ``base_url``, a
store DSN) is masked wherever a URL is shown or logged."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
import yaml
from sla_connector_psa.http import PsaHttp, UnreachableError, split_userinfo, validate_base_url

from sla_connector.cli import EXIT_CONFIG, main
from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.secrets import mask_userinfo
from sla_connector.runtime.logs import JsonFormatter
from sla_connector.runtime.redaction import scrub
from sla_connector.settings import parse_yaml

pytestmark = pytest.mark.anyio

PASSWORD = "pw-BASEURL-S3CRET"
USER = "api-USER-7"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"https://{USER}:{PASSWORD}@psa.example/api", f"https://{USER}:[redacted]@psa.example/api"),
        (f"GET https://{USER}:p@ss:w@rd@h.example:8443/x", f"GET https://{USER}:[redacted]@h.example:8443/x"),
        (f"postgresql+psycopg://sla:{PASSWORD}@db:5432/sla", "postgresql+psycopg://sla:[redacted]@db:5432/sla"),
        (f"'HTTP://{PASSWORD}@h'", "'HTTP://[redacted]@h'"),
        ("https://psa.example/a?x=1 it@msp.example", "https://psa.example/a?x=1 it@msp.example"),
        ("no url here, user@host", "no url here, user@host"),
    ],
)  # fmt: skip
def test_finding_7_user_info_in_any_url_is_masked(text: str, shown: str) -> None:
    assert mask_userinfo(text) == shown
    assert scrub(text) == shown


def test_finding_7_the_log_formatter_masks_user_info_it_was_never_told_about() -> None:
    record = logging.makeLogRecord(
        {"msg": "poll failed", "error": f"cannot reach https://{USER}:{PASSWORD}@psa.example"}
    )
    line = JsonFormatter().format(record)
    assert PASSWORD not in line and f"{USER}:[redacted]@psa.example" in line


def test_finding_7_base_url_errors_never_quote_its_credentials() -> None:
    for url in (
        f"http://{USER}:{PASSWORD}@psa.example/api",  # plain http off loopback
        f"https://{USER}:{PASSWORD}@psa.example/api?q=1",
        f"ftp://{USER}:{PASSWORD}@psa.example",
        f"https://{USER}:{PASSWORD}@[::1",
    ):
        with pytest.raises(FatalConnectorError) as caught:
            validate_base_url(url, "connectors.cw.base_url")
        assert PASSWORD not in str(caught.value)


def test_split_userinfo_turns_it_into_basic_auth() -> None:
    url, header = split_userinfo(f"https://{USER}:p%40ss@psa.example/api")
    assert url == "https://psa.example/api"
    assert header == {"Authorization": "Basic YXBpLVVTRVItNzpwQHNz"}  # api-USER-7:p@ss
    assert split_userinfo("https://psa.example/api") == ("https://psa.example/api", {})


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 3, 2, tzinfo=UTC)


@respx.mock
async def test_finding_7_a_connector_never_shows_its_base_url_credentials() -> None:
    route = respx.get("https://psa.example/api/tickets").mock(
        side_effect=[httpx.Response(200, json=[]), httpx.ConnectError("refused")]
    )

    async def no_sleep(_: float) -> None:
        return None

    http = PsaHttp(
        name="cw",
        base_url=f"https://{USER}:{PASSWORD}@psa.example/api",
        client=httpx.AsyncClient(),
        clock=_Clock(),
        requests_per_minute=600,
        sleep=no_sleep,
        max_attempts=1,
    )
    assert http.base_url == "https://psa.example/api"
    assert await http.get_json("tickets") == []
    sent = route.calls[0].request
    assert sent.headers["authorization"].startswith("Basic ")  # still authenticates
    assert PASSWORD not in str(sent.url)
    with pytest.raises(UnreachableError) as caught:
        await http.get_json("tickets")
    assert PASSWORD not in str(caught.value) and USER not in str(caught.value)  # stripped
    await http.aclose()


def test_finding_7_a_store_url_password_is_never_printed_by_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    data = parse_yaml((root / "examples" / "policy.yaml").read_text())
    for url in (f"mysql://sla:{PASSWORD}@db/sla", f"postgresql+psycopg://sla:{PASSWORD}@db:x/sla"):
        data["store"] = {"url": url}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data))
        code = main(["check", "-c", str(path), "--no-connect"])
        out = capsys.readouterr()
        assert PASSWORD not in out.out + out.err, url
        if code != 0:
            assert code == EXIT_CONFIG and len(out.err.strip().splitlines()) == 1


def test_json_log_of_a_secret_url_stays_masked(json_log: io.StringIO) -> None:
    logging.getLogger("sla_connector.test").warning(
        "store unreachable", extra={"url": f"postgresql://u:{PASSWORD}@db/x"}
    )
    assert PASSWORD not in json_log.getvalue()
