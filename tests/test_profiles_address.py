"""Region addresses: every field a Chinese or western checkout form asks for, names split by a stated rule,
user fields kept, and a bad value refused with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderprobe.profiles.address import Address, split_name
from orderprobe.profiles.catalogue import ProfileError, load_catalogue


@pytest.mark.parametrize(
    ("full", "family", "given"),
    [
        ("张伟", "张", "伟"),
        ("王小明", "王", "小明"),
        ("欧阳娜娜", "欧阳", "娜娜"),
        ("司馬相如", "司馬", "相如"),
        ("欧阳", "欧", "阳"),  # two characters only: a compound surname needs a given name after it
        ("艾力·买买提", "买买提", "艾力"),
        ("Jane Q. Doe", "Doe", "Jane Q."),
        ("Madonna", "", "Madonna"),
    ],
)
def test_split_name(full: str, family: str, given: str) -> None:
    assert split_name(full) == (family, given)


def test_every_builtin_region_has_a_full_address() -> None:
    regions = load_catalogue().regions
    for region in regions.values():
        a = region.address
        assert a.country in {"CN", "HK", "MO", "TW"}, region.name
        assert a.given_name and a.family_name in a.recipient and a.given_name in a.recipient, region.name
        assert all((a.province, a.city, a.district, a.street, a.postcode, a.phone)), region.name
    assert (regions["beijing"].address.family_name, regions["beijing"].address.given_name) == ("王", "小明")
    assert (regions["hong-kong"].address.country, regions["taipei"].address.country) == ("HK", "TW")
    lhasa = regions["lhasa"].address  # stated in the YAML: the character rule would say 次 + 仁多吉
    assert (lhasa.family_name, lhasa.given_name) == ("", "次仁多吉")


def test_stated_names_win_over_the_rule() -> None:
    a = Address(country="CN", recipient="欧阳娜娜", family_name="欧", given_name="阳娜娜", phone="13800138000",
                province="p", city="c", district="d", street="s", postcode="100000")  # fmt: skip
    assert (a.family_name, a.given_name) == ("欧", "阳娜娜")


def _region_file(folder: Path, address: str) -> Path:
    path = folder / "regions.yaml"
    path.write_text(
        "regions:\n  - name: sf\n    locale: en-US\n    timezone: America/Los_Angeles\n"
        "    geolocation: {latitude: 37.77, longitude: -122.42}\n    address:\n" + address,
        encoding="utf-8",
    )
    return path


WESTERN = """\
      country: US
      recipient: Jane Doe
      phone: "+1 415 555 0100"
      province: CA
      city: San Francisco
      district: Mission
      street: 500 Valencia St Apt 2
      postcode: 94110-1234
      building_code: "2#"
      floor: 3
      leave_at_door: true
"""


def test_a_western_address_with_fields_of_your_own(tmp_path: Path) -> None:
    _region_file(tmp_path, WESTERN)
    a = load_catalogue([tmp_path]).regions["sf"].address
    assert (a.country, a.family_name, a.given_name, a.postcode) == ("US", "Doe", "Jane", "94110-1234")
    assert a.extra == {"building_code": "2#", "floor": 3, "leave_at_door": True}
    assert a.model_dump()["floor"] == 3  # reports and probes see them like any other field


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (("country: US", "country: USA"), 7, "regions[0].address.country", "'USA' is not an ISO 3166-1 alpha-2"),
        (("country: US", "country: XX"), 7, "regions[0].address.country", "'XX' is not an ISO 3166-1 alpha-2"),
        (("floor: 3", "floor: [3, 4]"), 6, "regions[0].address", "floor: a field of your own holds text"),
        (("floor: 3", "Floor: 3"), 6, "regions[0].address", "Floor: a field of your own needs a snake_case name"),
    ],
)
def test_bad_address_values_are_refused_with_file_line_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    path = _region_file(tmp_path, WESTERN.replace(*change))
    with pytest.raises(ProfileError) as info:
        load_catalogue([tmp_path])
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), line, field)
    assert message in problem.message


def test_country_is_required(tmp_path: Path) -> None:
    _region_file(tmp_path, WESTERN.replace("      country: US\n", ""))
    with pytest.raises(ProfileError) as info:
        load_catalogue([tmp_path])
    assert "regions.yaml:6: regions[0].address.country: required field is missing" in str(info.value)
