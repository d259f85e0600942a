"""Portal configs: the starter registry loads, bad configs fail naming the key, defaults hold.

Only loads YAML: nothing here touches the network.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from crawlers.config import PLATFORMS, ConfigError, load_config, load_configs

PORTALS = Path(__file__).resolve().parents[1] / "crawlers" / "portals"

BASE = 'id: x1\nagency: 某局\nstart_urls: ["https://a.gov.cn/"]\n'

SMALLEST = """\
id: pingtan
agency: 平潭综合实验区管委会
start_urls: ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the starter registry ------------------------------------------------------------------------
def test_registry_loads_with_unique_ids() -> None:
    configs = load_configs(PORTALS)
    ids = [c.id for c in configs]
    assert len(ids) == len(set(ids))
    assert len(configs) >= 20
    assert len({c.platform for c in configs}) >= 3
    assert {c.platform for c in configs} <= set(PLATFORMS)


def registry_problems(path: Path) -> list[str]:
    """What keeps a file out of the registry (crawlers/portals/README.md): it loads, is named
    after its id, and a portal marked verified says in its notes when (a date) it was."""
    config = load_config(path)
    problems = []
    if path.stem != config.id:
        problems.append(f"file name {path.name} is not the id {config.id!r} + .yaml")
    if config.verified and not re.search(r"\d{4}-\d{2}-\d{2}", config.notes or ""):
        problems.append("verified: true needs the date of the crawl that verified it in notes")
    return problems


@pytest.mark.parametrize("path", sorted(PORTALS.glob("*.yaml")), ids=lambda p: p.stem)
def test_registry_file(path: Path) -> None:
    assert registry_problems(path) == []
    assert load_config(path).notes  # where the URL comes from, what is inferred


def test_readme_example_is_a_registry_file(tmp_path: Path) -> None:
    """The README's "Adding a portal" example, saved as the README says, passes the registry."""
    readme = (PORTALS.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Adding a portal"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)
    path = write(tmp_path, f"{yaml.safe_load(example)['id']}.yaml", example)
    assert registry_problems(path) == []


def test_verified_portal_is_a_registry_file(tmp_path: Path) -> None:
    """Verifying a portal (README step 3) keeps the suite green; a claim without a date fails."""
    source = next(iter(sorted(PORTALS.glob("*.yaml"))))
    text = source.read_text(encoding="utf-8").replace("verified: false", "verified: true")
    undated = write(tmp_path, source.name, text.replace("notes: \"", "notes: \"Seen. "))
    assert load_config(undated).verified is True
    assert registry_problems(undated) == [
        "verified: true needs the date of the crawl that verified it in notes"]
    dated = write(tmp_path, source.name,
                  text.replace("notes: \"", "notes: \"Crawled with 12 reports on 2026-11-30. "))
    assert registry_problems(dated) == []


def test_registry_has_only_yaml_and_readme() -> None:
    assert {p.suffix for p in PORTALS.iterdir()} <= {".yaml", ".md"}


# -- invalid configs: the message names the key --------------------------------------------------
@pytest.mark.parametrize(("text", "key"), [
    pytest.param(BASE.replace("start_urls", "start_url"), "start_url", id="unknown-key"),
    pytest.param(BASE.replace("https://a.gov.cn/", "ftp://a.gov.cn/nb/"), "start_urls",
                 id="ftp-url"),
    pytest.param(BASE.replace("https://a.gov.cn/", "not a url"), "start_urls", id="not-a-url"),
    pytest.param(BASE.replace('["https://a.gov.cn/"]', '"https://a.gov.cn/"'), "start_urls",
                 id="url-not-a-list"),
    pytest.param(BASE.replace("agency: 某局\n", ""), "agency", id="missing-agency"),
    pytest.param(BASE.replace("id: x1\n", ""), "id", id="missing-id"),
    pytest.param(BASE.replace("id: x1", "id: X 1"), "id", id="bad-id"),
    pytest.param(BASE + "platform: jcms\n", "platform", id="bad-platform"),
    pytest.param(BASE + 'include: ["年报("]\n', "include", id="bad-regex"),
    pytest.param(BASE + "exclude: [2023]\n", "exclude", id="number-as-regex"),
    pytest.param(BASE + "obey_robots: false\n", "obey_robots", id="robots-without-reason"),
    pytest.param(BASE + "delay: soon\n", "delay", id="delay-not-a-number"),
    pytest.param(BASE + "max_pages: -1\n", "max_pages", id="negative"),
    pytest.param(BASE + "encoding: gbkk\n", "encoding", id="unknown-encoding"),
    pytest.param(BASE + 'allowed_hosts: ["https://a.gov.cn/"]\n', "allowed_hosts",
                 id="host-is-a-url"),
    pytest.param(BASE + 'verified: "no"\n', "verified", id="verified-not-bool"),
])
def test_invalid_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert f"{key}:" in message
    assert str(path) in message


def test_malformed_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "id: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_robots_override_with_reason_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "ok.yaml", SMALLEST + "obey_robots: false\n"
                               "robots_override_reason: robots.txt is an HTML 200 page\n"))
    assert config.obey_robots is False


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SMALLEST)
    write(tmp_path, "b.yaml", SMALLEST.replace("pingtan.gov.cn", "www2.pingtan.gov.cn"))
    with pytest.raises(ConfigError) as caught:
        load_configs(tmp_path)
    assert "id:" in str(caught.value)
    assert "'pingtan'" in str(caught.value)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no portal configs"):
        load_configs(tmp_path)


# -- the smallest config and its defaults ---------------------------------------------------------
def test_smallest_config_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "pingtan.yaml", SMALLEST)
    (config,) = load_configs(tmp_path)
    assert config.id == "pingtan"
    assert config.agency == "平潭综合实验区管委会"
    assert config.start_urls == ("https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/",)
    assert config.platform == "auto"
    assert config.allowed_hosts == ()
    assert config.hosts == ("www.pingtan.gov.cn",)
    assert config.obey_robots is True
    assert config.verified is False
    assert config.include == config.exclude == ()
    assert config.encoding is None
    assert config.source == path


def test_single_strings_are_single_items(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "x.yaml", SMALLEST + "allowed_hosts: pingtan.gov.cn\n"
                               "agencies: 平潭综合实验区管委会\ninclude: 年报\n"))
    assert config.allowed_hosts == config.hosts == ("pingtan.gov.cn",)
    assert config.agencies == ("平潭综合实验区管委会",)
    assert config.include == ("年报",)


def test_numeric_id_is_a_string(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "x.yaml", SMALLEST.replace("id: pingtan", "id: 2024")))
    assert config.id == "2024"
