"""The catalogue: loading TOML/CSV files, serial normalization, serial look-up and CHK checks."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalogue import (
    CatalogueFileError,
    ChkSecretMissingError,
    Correction,
    check_chk,
    find_serial,
    keyed_chk,
    load_catalogue_file,
    normalize_serial,
    product_by_model,
    stores_for,
)
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work
from storage.demo import DEMO_DIR
from storage.file_errors import FileLoadError, FileProblem
from storage.migrate import upgrade
from storage.models import CatalogueProduct, CatalogueSerial, Category, Store
from storage.promotion_loader import PromotionFileError

DEMO = DEMO_DIR / "catalogue.toml"
MP241 = "9S6-3PA2CT-038"
SECRET = "test-chk-secret"


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    async def count(model: type) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return await count(CatalogueProduct), await count(CatalogueSerial), await count(Store)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per module; each test copies the file, which is faster than migrating."""
    path = tmp_path_factory.mktemp("catalogue") / "template.db"
    asyncio.run(upgrade("sqlite+aiosqlite:///" + str(path)))
    return path


@pytest.fixture
async def sessions(migrated: Path, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    """A fresh, migrated SQLite database for each test."""
    shutil.copyfile(migrated, tmp_path / "t.db")
    engine = create_engine("sqlite+aiosqlite:///" + str(tmp_path / "t.db"))
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def demo(sessions: SessionFactory) -> SessionFactory:
    async with unit_of_work(sessions) as session:
        await load_catalogue_file(session, DEMO)
    return sessions


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- loading


async def test_demo_catalogue_loads_every_category_and_region(sessions: SessionFactory) -> None:
    async with unit_of_work(sessions) as session:
        report = await load_catalogue_file(session, DEMO)
        assert (report.products, report.serials, report.stores) == await counts(session)
        assert report.created == report.products + report.serials + report.stores
        categories = set(await session.scalars(select(CatalogueProduct.category)))
        assert categories == {c.value for c in Category}
        assert set(await session.scalars(select(CatalogueProduct.chk_mode))) == {"list", "keyed"}
        for country in ("SG", "TW", "US", "DE", "FR", "GB"):
            assert 3 <= len(await stores_for(session, country)) <= 5
        assert "Challenger" in await stores_for(session, "sg")
        assert await stores_for(session, "JP") == []
        monitor = await product_by_model(session, MP241)
        assert monitor is not None and monitor.name == "PRO MP241" and monitor.warranty_months == 36
        serials = await session.scalar(select(func.count()).where(CatalogueSerial.product_id == monitor.id))
        assert serials is not None and serials >= 5
        assert await product_by_model(session, "no-such-model") is None


async def test_reloading_the_same_file_changes_nothing(demo: SessionFactory) -> None:
    async with unit_of_work(demo) as session:
        before = await counts(session)
        report = await load_catalogue_file(session, DEMO)
        assert (report.created, report.updated) == (0, 0)
        assert await counts(session) == before == (report.products, report.serials, report.stores)


async def test_changed_fields_are_updated_without_duplicates(sessions: SessionFactory, tmp_path: Path) -> None:
    text = """
[[products]]
category = "monitor"
name = "PRO MP241"
model = "9S6-3PA2CT-038"
warranty_months = 24
serials = [{ serial = "BA9H040230046", chk = "111" }]
[[stores]]
country = "SG"
names = ["Challenger"]
"""
    path = write(tmp_path, "c.toml", text)
    async with unit_of_work(sessions) as session:
        await load_catalogue_file(session, path)
    path.write_text(
        text.replace("warranty_months = 24", "warranty_months = 36")
        .replace('"111"', '"222"')
        .replace('["Challenger"]', '["Challenger", "Courts"]')
    )
    async with unit_of_work(sessions) as session:
        report = await load_catalogue_file(session, path)
        assert (report.created, report.updated) == (1, 2)
        assert await counts(session) == (1, 1, 2)
        product = await product_by_model(session, MP241)
        assert product is not None and product.warranty_months == 36
        assert await session.scalar(select(CatalogueSerial.chk)) == "222"


async def test_csv_layout_loads_and_reloads(demo: SessionFactory, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        "kind,category,name,model,warranty_months,launch_date,serial_pattern,chk_mode,serial,chk,country,store\n"
        "# a comment row,,,,,,,,,,,\n"
        "product,Graphics Card,GeForce RTX 4060 VENTUS 2X BLACK 8G OC,V516-003R,36,2023-06-29,^V516[0-9]{9}$,list,,,,\n"
        "serial,,,V516-003R,,,,,v516 000 000 001,042,,\n"
        "serial,,,9S6-3PA2CT-038,,,,,BA9H000000001,007,,\n"
        "store,,,,,,,,,,jp,Yodobashi Camera\n",
    )
    for _ in range(2):
        async with unit_of_work(demo) as session:
            report = await load_catalogue_file(session, path)
            assert (report.products, report.serials, report.stores) == (1, 2, 1)
    async with unit_of_work(demo) as session:
        match = await find_serial(session, "V516000000001")
        assert match is not None and match.product.category == "graphics_card" and match.listed
        assert await check_chk(session, match, "042", None)
        other = await find_serial(session, "BA9H000000001")
        assert other is not None and other.product.model == MP241
        assert await stores_for(session, "JP") == ["Yodobashi Camera"]


async def test_csv_with_only_the_columns_it_needs(sessions: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, "stores.csv", "kind,country,store\nstore,SG,Challenger\nstore,SG,Courts\n")
    async with unit_of_work(sessions) as session:
        report = await load_catalogue_file(session, path)
        assert report.stores == 2 and await stores_for(session, "SG") == ["Challenger", "Courts"]


PRODUCT = """[[products]]
category = "monitor"
name = "PRO MP241"
model = "9S6-3PA2CT-038"
warranty_months = 36
launch_date = 2020-11-02
serial_pattern = '^BA9H[0-9]{9}$'
serials = [{ serial = "BA9H040230046", chk = "318" }]
"""


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        ('"monitor"', '"monitors"', "products[1] (model 9S6-3PA2CT-038): category", "unknown category 'monitors'"),
        ("2020-11-02", '"02/11/2020"', "products[1] (model 9S6-3PA2CT-038): launch_date", "must be a date like"),
        ('chk = "318"', 'chk = "31"', "serials[1]: chk", "must be exactly 3 digits, got '31'"),
        ('chk = "318"', "chk = 318", "serials[1]: chk", 'in quotes (e.g. "046")'),
        (
            "'^BA9H[0-9]{9}$'",
            "'^BA9H[0-9{9}$'",
            "products[1] (model 9S6-3PA2CT-038): serial_pattern",
            "not a valid regular expression",
        ),
        ('"BA9H040230046"', '"BA9X040230046"', "serials[1]", "does not match the serial_pattern"),
        (
            "warranty_months = 36",
            "warranty_months = 0",
            "products[1] (model 9S6-3PA2CT-038): warranty_months",
            "positive whole number",
        ),
        ('name = "PRO MP241"\n', "", "products[1] (model 9S6-3PA2CT-038): name", "is missing"),
        ("launch_date", "lauch_date", "products[1] (model 9S6-3PA2CT-038)", "unknown field 'lauch_date'"),
        (
            'chk = "318" }]',
            'chk = "318" }]\nchk = "hashed"',
            "products[1] (model 9S6-3PA2CT-038): chk",
            "must be 'list' or 'keyed'",
        ),
        (
            'serials = [{ serial = "BA9H040230046", chk = "318" }]',
            'serials = [{ serial = "BA9H040230046" }]',
            "serials[1]: chk",
            "is missing",
        ),
        (
            "serial_pattern = '^BA9H[0-9]{9}$'",
            'chk = "keyed"',
            "products[1] (model 9S6-3PA2CT-038): serial_pattern",
            "is missing (a keyed product",
        ),
        (
            "[[products]]",
            '[[stores]]\ncountry = "UK"\nnames = ["Currys"]\n[[products]]',
            "stores[1]: country",
            "did you mean 'GB'",
        ),
        ("warranty_months = 36", "warranty_months = 36\nwarranty_months = 24", "TOML syntax error", "line 6"),
    ],
)
async def test_toml_errors_name_file_location_and_problem(
    sessions: SessionFactory, tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    path = write(tmp_path, "broken.toml", PRODUCT.replace(old, new, 1))
    async with unit_of_work(sessions) as session:
        with pytest.raises(CatalogueFileError) as error:
            await load_catalogue_file(session, path)
        message = str(error.value)
        assert message.startswith(str(path)), message
        assert where in message and problem in message, message
        assert await counts(session) == (0, 0, 0)  # validated before anything is written


async def test_every_problem_is_reported_at_once(sessions: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", PRODUCT.replace('"monitor"', '"tv"') + PRODUCT.replace('"318"', '"3"'))
    async with unit_of_work(sessions) as session:
        with pytest.raises(CatalogueFileError) as error:
            await load_catalogue_file(session, path)
    assert len(error.value.problems) == 2
    assert "products[1]" in error.value.problems[0] and "category" in error.value.problems[0]
    assert "products[2]" in error.value.problems[1] and "chk" in error.value.problems[1]


HEADER = "kind,category,name,model,warranty_months,launch_date,serial_pattern,chk_mode,serial,chk,country,store\n"
CSV_PRODUCT = "product,monitor,PRO MP241,9S6-3PA2CT-038,36,2020-11-02,^BA9H[0-9]{9}$,list,,,,\n"


@pytest.mark.parametrize(
    ("rows", "where", "problem"),
    [
        ("product,television,X,M-1,12,,,,,,,\n", "line 2: category", "unknown category 'television'"),
        ("product,monitor,X,M-1,12,2020-13-01,,,,,,\n", "line 2: launch_date", "must be a date like"),
        ("product,monitor,X,M-1,12,,[A-Z,,,,,\n", "line 2: serial_pattern", "not a valid regular expression"),
        (CSV_PRODUCT + "serial,,,9S6-3PA2CT-038,,,,,BA9H040230046,31A,,\n", "line 3: chk", "must be exactly 3 digits"),
        (CSV_PRODUCT + "serial,,,9S6-NOPE,,,,,BA9H040230046,318,,\n", "line 3", "unknown model '9S6-NOPE'"),
        (
            CSV_PRODUCT + "serial,,,9S6-3PA2CT-038,,,,,ZZ9H040230046,318,,\n",
            "line 3",
            "does not match the serial_pattern",
        ),
        ("gadget,,,,,,,,,,,\n", "line 2: kind", "must be 'product', 'serial' or 'store'"),
        ("store,,,,,,,,,,XX,Shop\n", "line 2: country", "not an ISO 3166-1 alpha-2"),
        ("product,monitor,X,M-1,twelve,,,,,,,\n", "line 2: warranty_months", "positive whole number"),
    ],
)
async def test_csv_errors_name_file_line_and_problem(
    sessions: SessionFactory, tmp_path: Path, rows: str, where: str, problem: str
) -> None:
    path = write(tmp_path, "broken.csv", HEADER + rows)
    async with unit_of_work(sessions) as session:
        with pytest.raises(CatalogueFileError) as error:
            await load_catalogue_file(session, path)
        message = str(error.value)
        assert message.startswith(str(path)) and where in message and problem in message, message
        assert await counts(session) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("c.csv", "model,serial\nX,Y\n", "line 1: header must include 'kind'"),
        ("c.json", "{}", "expected .toml or .csv"),
        ("c.toml", "", "no [[products]] or [[stores]]"),
    ],
)
async def test_file_level_errors(sessions: SessionFactory, tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = write(tmp_path, name, text)
    async with unit_of_work(sessions) as session:
        with pytest.raises(CatalogueFileError) as error:
            await load_catalogue_file(session, path)
    assert str(error.value).startswith(str(path)) and problem in str(error.value)


async def test_missing_file(sessions: SessionFactory, tmp_path: Path) -> None:
    async with unit_of_work(sessions) as session:
        with pytest.raises(CatalogueFileError, match="file not found"):
            await load_catalogue_file(session, tmp_path / "nope.toml")


# ---------------------------------------------------------------- one error type for every file


def test_both_loaders_raise_the_one_file_error() -> None:
    assert CatalogueFileError is FileLoadError and PromotionFileError is FileLoadError


async def test_a_bad_row_names_file_row_and_field_and_nothing_is_written(demo: SessionFactory, tmp_path: Path) -> None:
    renamed = CSV_PRODUCT.replace("PRO MP241", "PRO MP241 renamed")
    bad_chk = "serial,,,9S6-3PA2CT-038,,,,,BA9H040230046,31,,\n"
    new_store = "store,,,,,,,,,,SG,New Shop\n"
    path = write(tmp_path, "catalogue.csv", HEADER + renamed + bad_chk + new_store)
    async with unit_of_work(demo) as session:
        before = await counts(session)
        with pytest.raises(FileLoadError) as error:
            await load_catalogue_file(session, path)
        assert not session.new and not session.dirty  # the valid rows were not applied either
    assert error.value.path == path
    assert error.value.details == [FileProblem("must be exactly 3 digits, got '31'", where="line 3", field="chk")]
    assert str(error.value) == f"{path}: line 3: chk: must be exactly 3 digits, got '31'"
    async with unit_of_work(demo) as session:
        assert await counts(session) == before
        product = await product_by_model(session, MP241)
        assert product is not None and product.name == "PRO MP241"
        assert "New Shop" not in await stores_for(session, "SG")


async def test_problems_are_listed_in_line_order(sessions: SessionFactory, tmp_path: Path) -> None:
    # line 2 is found wrong only against the database (unknown model), line 3 by its own fields
    rows = "serial,,,9S6-NOPE,,,,,BA9H040230046,318,,\nstore,,,,,,,,,,UK,Currys\n"
    path = write(tmp_path, "catalogue.csv", HEADER + rows)
    async with unit_of_work(sessions) as session:
        with pytest.raises(FileLoadError) as error:
            await load_catalogue_file(session, path)
    assert [(p.where, p.field) for p in error.value.details] == [("line 2", "model"), ("line 3", "country")]
    assert str(error.value).startswith(f"{path}: 2 problems:\n  line 2: model: unknown model '9S6-NOPE'")


async def test_a_nested_field_and_an_unknown_one_are_named(sessions: SessionFactory, tmp_path: Path) -> None:
    text = PRODUCT.replace('chk = "318"', 'chk = "31"').replace("launch_date", "lauch_date")
    path = write(tmp_path, "catalogue.toml", text)
    async with unit_of_work(sessions) as session:
        with pytest.raises(FileLoadError) as error:
            await load_catalogue_file(session, path)
    where = "products[1] (model 9S6-3PA2CT-038)"
    chk, unknown = error.value.details
    assert (chk.where, chk.field) == (f"{where}: serials[1]", "chk")
    assert (unknown.where, unknown.field) == (where, "lauch_date")
    assert unknown.message.startswith("unknown field 'lauch_date' (did you mean 'launch_date'?")


# ---------------------------------------------------------------- normalization

PATTERNS = [r"^BA9H[0-9]{9}$", r"^PA1T[0-9]{3}A[0-9]{5}$"]


def test_spaces_dashes_and_case_are_normalized() -> None:
    assert normalize_serial("  ba9h-0402 3004 6 ", PATTERNS).value == "BA9H040230046"
    assert normalize_serial("ｂａ９ｈ０４０２３００４６", PATTERNS).value == "BA9H040230046"  # full-width
    assert normalize_serial("ba9h040230046", []).corrections == []


def test_letter_o_becomes_zero_where_only_a_digit_fits() -> None:
    result = normalize_serial("BA9HO4O230046", PATTERNS)
    assert result.value == "BA9H040230046"
    assert result.corrections == [Correction(5, "O", "0"), Correction(7, "O", "0")]
    assert str(result.corrections[0]) == "O→0 at position 5"


def test_lower_case_l_becomes_one_and_is_reported_as_typed() -> None:
    result = normalize_serial("pAlT060AOl074", PATTERNS)
    assert result.value == "PA1T060A01074"
    assert result.corrections == [(3, "l", "1"), (9, "O", "0"), (10, "l", "1")]


def test_zero_becomes_letter_o_where_only_a_letter_fits() -> None:
    result = normalize_serial("PA1T0600074", [r"^PA1T[0-9]{2}[A-Z][0-9]{4}$"])
    assert result.value == "PA1T06O0074" and result.corrections == [(7, "0", "O")]


def test_nothing_is_changed_when_the_serial_already_fits() -> None:
    result = normalize_serial("BA9HO4O230046", [r"^[A-Z0-9]{13}$"])
    assert result.value == "BA9HO4O230046" and result.corrections == []


def test_nothing_is_changed_when_the_fix_is_ambiguous() -> None:
    # "1" could be read as "I" or as "L": both fit, so we do not guess.
    result = normalize_serial("AB1CD", [r"^AB[IL]CD$"])
    assert result.value == "AB1CD" and result.corrections == []
    # Two readings fit two different patterns.
    result = normalize_serial("A01", [r"^AOI$", r"^A0L$"])
    assert result.value == "A01" and result.corrections == []
    assert normalize_serial("XOY", [r"^X[0-9]Y$", r"^Z$"]).corrections == [(2, "O", "0")]


def test_nothing_is_changed_when_no_reading_fits() -> None:
    result = normalize_serial("ZZ9HO4O230046", PATTERNS)
    assert result.value == "ZZ9HO4O230046" and result.corrections == []


# ---------------------------------------------------------------- look-up and CHK


async def test_find_listed_serial(demo: SessionFactory) -> None:
    async with unit_of_work(demo) as session:
        match = await find_serial(session, "BA9H040230046")
        assert match is not None
        assert (match.product.name, match.product.model, match.serial, match.listed) == (
            "PRO MP241",
            MP241,
            "BA9H040230046",
            True,
        )
        assert match.corrections == []


async def test_find_listed_serial_typed_with_look_alikes(demo: SessionFactory) -> None:
    async with unit_of_work(demo) as session:
        match = await find_serial(session, "ba9h o4o2 3oo4 6")
        assert match is not None and match.serial == "BA9H040230046" and match.listed
        assert [c.position for c in match.corrections] == [5, 7, 10, 11]
        mp242 = await find_serial(session, "PAlT-060A-01074")
        assert mp242 is not None and mp242.product.name == "PRO MP242" and mp242.corrections == [(3, "l", "1")]


async def test_find_pattern_only_keyed_serial(demo: SessionFactory) -> None:
    async with unit_of_work(demo) as session:
        match = await find_serial(session, "gm4lk23o51234")
        assert match is not None
        assert match.product.chk_mode == "keyed" and match.product.category == "gaming_gear"
        assert (match.serial, match.listed) == ("GM41K23051234", False)
        assert match.corrections == [(4, "l", "1"), (8, "o", "0")]


@pytest.mark.parametrize("raw", ["ZZZZ000000000", "", "  - ", "BA9H999999999", "GM41K2305123"])
async def test_unknown_serials_are_not_found(demo: SessionFactory, raw: str) -> None:
    # BA9H999999999 fits PRO MP241's pattern but is not listed: a list product needs its CHK row.
    async with unit_of_work(demo) as session:
        assert await find_serial(session, raw) is None


async def test_listed_chk(demo: SessionFactory) -> None:
    async with unit_of_work(demo) as session:
        match = await find_serial(session, "BA9H040230046")
        assert match is not None
        assert await check_chk(session, match, "318", None)
        assert await check_chk(session, match, " ３１８ ", None)  # full-width digits from a CJK keyboard
        for wrong in ("319", "31", "3180", "abc", ""):
            assert not await check_chk(session, match, wrong, SECRET)


async def test_keyed_chk(demo: SessionFactory) -> None:
    serial = "GM41K23051234"
    code = keyed_chk(serial, SECRET)
    assert len(code) == 3 and code.isdigit()
    assert code == keyed_chk(serial, SECRET) == keyed_chk("gm41-k230 51234", SECRET)
    assert {keyed_chk(serial, s) for s in ("a", "b", "c", "d", "e")} != {code}
    async with unit_of_work(demo) as session:
        match = await find_serial(session, serial)
        assert match is not None
        assert await check_chk(session, match, code, SECRET)
        assert not await check_chk(session, match, f"{(int(code) + 1) % 1000:03d}", SECRET)
        with pytest.raises(ChkSecretMissingError, match="S12-0401950-C54"):
            await check_chk(session, match, code, None)
