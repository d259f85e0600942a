"""A real Prefect server on 127.0.0.1, a real flow run against it, and its page in headless
Chromium (Debian's chromium and chromedriver, driven by Selenium): the run and its failures
artifact are shown. Screenshots are kept under the test's tmp dir."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flows.prefect_env import apply_prefect_env
from flows.summary import FAILURES_KEY, SUMMARY_KEY
from tests.portal import fixtures
from tests.portal.expected import EXPECTED
from tests.portal.fixtures import write_configs

portal = fixtures.portal

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict | list:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> list:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def prefect_server(tmp_path):
    """``prefect server start`` on a free loopback port, with its own PREFECT_HOME."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver must be installed (.ci/run does it)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    port = _free_port()
    env = apply_prefect_env({**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"),
                             "PREFECT_UI_ENABLED": "true",
                             "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"})
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start",
                               "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            _get(f"{api}/health")
            break
        except OSError:
            time.sleep(1)
    else:
        server.kill()
        pytest.fail("prefect server did not start: "
                    f"{(tmp_path / 'server.log').read_text()[-2000:]}")
    yield {"api": api, "ui": f"http://127.0.0.1:{port}", "env": {**env, "PREFECT_API_URL": api}}
    server.terminate()
    server.wait(timeout=60)
    log.close()


def test_flow_run_and_failures_artifact_in_the_ui(prefect_server, portal, tmp_path) -> None:
    portal.reset()
    write_configs(portal, tmp_path / "all")
    configs = tmp_path / "configs"
    configs.mkdir()
    for site in ("trs", "ruishu"):  # a report that breaks R1, and a blocked portal
        name = f"{EXPECTED[site].portal_id}.yaml"
        shutil.copy(tmp_path / "all" / name, configs / name)
    done = subprocess.run([str(Path(sys.executable).with_name("nianbao")), "run", "--portals",
                           str(configs), "--data-dir", str(tmp_path / "data"), "--delay", "0"],
                          env=prefect_server["env"], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (run,) = _post(f"{prefect_server['api']}/flow_runs/filter", {"limit": 5})
    assert run["state"]["type"] == "COMPLETED"
    (artifact,) = _post(f"{prefect_server['api']}/artifacts/filter",
                        {"artifacts": {"key": {"any_": [FAILURES_KEY]}}})
    assert artifact["flow_run_id"] == run["id"]

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download anything
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    shown = ""
    try:
        driver.get(f"{prefect_server['ui']}/runs/flow-run/{run['id']}")
        WebDriverWait(driver, 90).until(lambda d: run["name"] in d.find_element("tag name",
                                                                                "body").text)
        WebDriverWait(driver, 30).until(lambda d: "Completed" in d.find_element(
            "tag name", "body").text)
        driver.save_screenshot(str(tmp_path / "flow-run.png"))

        driver.get(f"{prefect_server['ui']}/artifacts/artifact/{artifact['id']}")
        broken = next(r for r in EXPECTED["trs"].reports if r.failing_checks)
        WebDriverWait(driver, 90).until(lambda d: "R1" in d.find_element("tag name", "body").text
                                        and broken.agency in d.find_element("tag name",
                                                                            "body").text)
        driver.save_screenshot(str(tmp_path / "failures-artifact.png"))
        body = driver.find_element("tag name", "body").text
        assert "crawl:blocked:ruishu" in body

        # the run summary's coverage plot: an inline data: URI image the UI's markdown shows
        (summary,) = _post(f"{prefect_server['api']}/artifacts/filter",
                           {"artifacts": {"key": {"any_": [SUMMARY_KEY]}}})
        driver.get(f"{prefect_server['ui']}/artifacts/artifact/{summary['id']}")
        coverage = "img[src^='data:image/png;base64,']"
        WebDriverWait(driver, 90).until(lambda d: d.find_elements("css selector", coverage))
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "const i = document.querySelector(arguments[0]); return i.complete && "
            "i.naturalWidth", coverage))
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", coverage)
        driver.save_screenshot(str(tmp_path / "summary-artifact.png"))
    except Exception:
        driver.save_screenshot(str(tmp_path / "failure.png"))
        shown = driver.find_element("tag name", "body").text
        (tmp_path / "failure.txt").write_text(shown, encoding="utf-8")
        raise
    finally:
        driver.quit()
    assert (tmp_path / "flow-run.png").stat().st_size > 10_000
