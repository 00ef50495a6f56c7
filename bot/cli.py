"""`python -m bot …`: the operator's commands."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import setup_logging

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


async def wait_for_signal() -> None:
    """Returns on Ctrl-C or SIGTERM, so every command shuts down the same graceful way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    settings.token  # noqa: B018 - fails early with a clear line when unset
    if args.webhook:
        settings.require_webhook()
    settings.require_mail()
    from bot.runtime import BotRuntime

    runtime = BotRuntime(settings, migrate_in_child=True)
    await runtime.start("webhook" if args.webhook else "polling")
    try:
        await wait_for_signal()
    finally:
        await runtime.stop()
    return 0


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import DemoError, run_demo

    try:
        await run_demo(settings, host=args.host, port=args.port, fresh=args.reset)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


async def cmd_emulator(args: argparse.Namespace, settings: Settings) -> int:
    from emulator import Emulator

    emulator = Emulator(token=args.token, host=args.host, port=args.port)
    await emulator.start()
    print(
        f"Bot API emulator on {emulator.api_base_url}  (BOT_API_BASE_URL)\n"
        f"files on {emulator.file_base_url}  (BOT_API_FILE_URL)\n"
        f"chat page: {emulator.page_url}",
        flush=True,
    )
    try:
        await wait_for_signal()
    finally:
        await emulator.stop()
    return 0


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate

    await migrate.upgrade(settings.database_url, args.revision)
    print(f"database at revision {await migrate.current_revision(settings.database_url)}")
    return 0


async def cmd_catalogue_load(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate
    from storage.catalogue import load_catalogue_file
    from storage.db import create_engine, make_session_factory, unit_of_work

    await migrate.upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(make_session_factory(engine)) as session:
            report = await load_catalogue_file(session, Path(args.file))
    finally:
        await engine.dispose()
    print(f"loaded {report.products} products, {report.serials} serials, {report.stores} stores from {args.file}")
    return 0


async def cmd_promotions_load(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate
    from storage.db import create_engine, make_session_factory, unit_of_work
    from storage.promotion_loader import load_promotions_file

    await migrate.upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(make_session_factory(engine)) as session:
            slugs = await load_promotions_file(session, Path(args.file))
    finally:
        await engine.dispose()
    print(f"loaded {len(slugs)} promotion(s): {', '.join(slugs)}")
    return 0


async def _with_session(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    """Runs `work(session)` in one transaction on a migrated database."""
    from storage import migrate
    from storage.db import create_engine, make_session_factory, unit_of_work

    await migrate.upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(make_session_factory(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def cmd_codes_import(args: argparse.Namespace, settings: Settings) -> int:
    from storage import code_stock
    from storage.clock import SystemClock

    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.file} as UTF-8 text: {exc}", file=sys.stderr)
        return 1

    async def work(session: Any) -> int:
        try:
            imported = await code_stock.import_for_slug(
                session, args.promotion, text, None, SystemClock().now(), source="cli"
            )
        except code_stock.UnknownPromotion as exc:
            print(f"error: no promotion {exc.slug!r}; known: {', '.join(exc.known) or 'none'}", file=sys.stderr)
            return 1
        report = imported.report
        print(
            f"{imported.promotion.slug}: {report.added} added, {report.duplicates} duplicate(s) skipped,"
            f" {len(report.invalid)} invalid line(s); {imported.left} unused code(s) now"
        )
        for line, value in report.invalid:
            print(f"  invalid, line {line}: {value!r}", file=sys.stderr)
        if imported.left < settings.low_codes_warning:
            print(f"warning: fewer than {settings.low_codes_warning} codes left (LOW_CODES_WARNING)", file=sys.stderr)
        return 0

    return await _with_session(settings, work)


async def cmd_export_claims(args: argparse.Namespace, settings: Settings) -> int:
    from storage import export

    if getattr(args, "format", "csv") != "csv":
        return await cmd_export_file(args, settings)

    async def work(session: Any) -> int:
        if args.promotion is not None:
            try:
                await export.promotion_id(session, args.promotion)
            except LookupError:
                print(f"error: no promotion {args.promotion!r}", file=sys.stderr)
                return 1
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = await export.write_claims_csv(session, out, args.promotion)
        else:
            count = await export.write_claims_csv(session, sys.stdout, args.promotion)
            sys.stdout.flush()
        print(f"exported {count} claim(s)" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
        return 0

    return await _with_session(settings, work)


async def cmd_export_file(args: argparse.Namespace, settings: Settings) -> int:
    """`export claims|payouts|shipments|subscribers [--promotion P] --format csv|xlsx`: the same
    bytes `/export` sends in the staff chat (storage/exports.py)."""
    from storage import exports

    async def work(session: Any) -> int:
        try:
            table = await exports.read(session, args.export_command, args.promotion)
        except LookupError:
            print(f"error: no promotion {args.promotion!r}", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        data = await asyncio.to_thread(exports.render, table, args.format)
        if args.output:
            Path(args.output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        print(f"exported {len(table.rows)} row(s)" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
        return 0

    return await _with_session(settings, work)


async def cmd_export_batch(args: argparse.Namespace, settings: Settings) -> int:
    """`export payouts|shipments --promotion P`: the file finance or logistics works from."""
    from storage import payouts, shipments

    if getattr(args, "format", "csv") != "csv":
        return await cmd_export_file(args, settings)

    module = payouts if args.export_command == "payouts" else shipments

    async def work(session: Any) -> int:
        try:
            if args.output:
                with open(args.output, "w", encoding="utf-8", newline="") as out:
                    count = await module.write_csv(session, out, args.promotion)
            else:
                count = await module.write_csv(session, sys.stdout, args.promotion)
                sys.stdout.flush()
        except LookupError:
            print(f"error: no promotion {args.promotion!r}", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"exported {count} row(s)" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
        return 0

    return await _with_session(settings, work)


async def cmd_import_batch(args: argparse.Namespace, settings: Settings) -> int:
    """`import payouts|shipments FILE.csv`: payments or tracking back in, each customer told once."""
    from storage import batches, payouts, shipments
    from storage.clock import SystemClock

    module = payouts if args.import_command == "payouts" else shipments
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.file} as UTF-8 text: {exc}", file=sys.stderr)
        return 1

    async def work(session: Any) -> int:
        try:
            report = await module.import_csv(session, text, SystemClock().now(), None)
        except batches.FileProblem as exc:
            print(f"error: {args.file}: {exc}", file=sys.stderr)
            return 1
        print(f"{args.file}: {len(report.applied)} applied, {report.unchanged} unchanged, {len(report.errors)} refused")
        for error in report.errors:
            print(f"  {args.file}: {error}", file=sys.stderr)
        return 1 if report.errors else 0

    return await _with_session(settings, work)


async def cmd_draw_verify(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from storage import draw

    async def work(session: Any) -> int:
        found = await draw.get(session, args.draw_id)
        if found is None:
            print(f"error: no draw #{args.draw_id}", file=sys.stderr)
            return 1
        row, promotion = found
        if row.drawn_at is None:
            print(
                f"error: draw #{row.id} of {promotion.slug} is committed (hash {row.seed_sha256})"
                " but not drawn yet; its seed stays secret",
                file=sys.stderr,
            )
            return 1
        record = {
            "draw": row.id,
            "promotion": promotion.slug,
            "committed_at": row.committed_at.isoformat(),
            "drawn_at": row.drawn_at.isoformat(),
            "seed_sha256": row.seed_sha256,
            "seed": row.seed,
            "winners_wanted": row.winners_wanted,
            "reserves_wanted": row.reserves_wanted,
            "entrants": row.entrants,
            "winners": row.winners,
            "reserves": row.reserves,
        }
        print(json.dumps(record, indent=2))
        sound = draw.verify(row)
        print(
            "verified: the seed has the published hash and re-running gives the same result"
            if sound
            else "NOT VERIFIED: hash or result differs",
            file=sys.stderr,
        )
        return 0 if sound else 3

    return await _with_session(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Product registration and promotion redemption bot for Telegram."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="serve Telegram users (long polling, or --webhook)",
        description="Serve Telegram users with BOT_TOKEN. Applies database migrations first.",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates on WEBHOOK_LISTEN at WEBHOOK_PUBLIC_URL instead of polling",
    )
    run.set_defaults(handler=cmd_run)

    demo = sub.add_parser(
        "demo",
        help="emulator + bot + demo data, chat in your browser",
        description=(
            "Start the local Bot API emulator, the bot and a demo database; print the chat page's address."
            " No token, no network."
        ),
    )
    demo.add_argument(
        "--host", default="127.0.0.1", help="address of the emulator and its chat page (default 127.0.0.1)"
    )
    demo.add_argument("--port", type=int, default=8081, help="port of the emulator and its chat page (default 8081)")
    demo.add_argument(
        "--reset", action="store_true", help="start clean: forget the demo's database, media, chats and files"
    )
    demo.set_defaults(handler=cmd_demo)

    emulator = sub.add_parser(
        "emulator",
        help="run only the local Bot API emulator",
        description="A local stand-in for the Telegram Bot API server, with a browser chat page.",
    )
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument("--token", default="123456:DEMO-TOKEN", help="the only token the emulator accepts")
    emulator.set_defaults(handler=cmd_emulator)

    db = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser(
        "upgrade",
        help="apply migrations (run and demo do this on start)",
        description="Apply the Alembic migrations to DATABASE_URL.",
    )
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=cmd_db_upgrade)

    catalogue = sub.add_parser("catalogue", help="product catalogue", description="Product catalogue.")
    cat_sub = catalogue.add_subparsers(dest="catalogue_command", required=True, metavar="ACTION")
    cat_load = cat_sub.add_parser(
        "load",
        help="load products, serials and stores from TOML or CSV",
        description="Load (or reload: idempotent) products, serials with CHK codes, and stores per region.",
    )
    cat_load.add_argument("file")
    cat_load.set_defaults(handler=cmd_catalogue_load)

    promotions = sub.add_parser("promotions", help="promotions", description="Promotions.")
    promo_sub = promotions.add_subparsers(dest="promotions_command", required=True, metavar="ACTION")
    promo_load = promo_sub.add_parser(
        "load",
        help="load one or many promotions from TOML",
        description="Load (or reload: idempotent) promotions from a TOML file.",
    )
    promo_load.add_argument("file")
    promo_load.set_defaults(handler=cmd_promotions_load)

    codes = sub.add_parser("codes", help="activation codes", description="Activation codes.")
    codes_sub = codes.add_subparsers(dest="codes_command", required=True, metavar="ACTION")
    codes_import = codes_sub.add_parser(
        "import",
        help="import a CSV of codes for a promotion",
        description=(
            "Import activation codes (first CSV column; a header line is fine) for the promotion SLUG."
            " Each must match its code_pattern; duplicates are skipped; invalid lines are listed."
        ),
    )
    codes_import.add_argument("promotion", metavar="PROMOTION", help="the promotion's slug")
    codes_import.add_argument("file", metavar="FILE.csv")
    codes_import.set_defaults(handler=cmd_codes_import)

    export = sub.add_parser(
        "export", help="export data for other systems", description="Export data for the vendor's other systems."
    )
    export_sub = export.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    export_claims = export_sub.add_parser(
        "claims",
        help="claims with their decisions",
        description="Claims with their decisions, one line per claim (columns: see storage/export.py).",
    )
    export_claims.add_argument("--promotion", metavar="SLUG", help="only this promotion (default: all)")
    export_claims.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    export_claims.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    export_claims.set_defaults(handler=cmd_export_claims)
    for what, about in (
        ("payouts", "approved cashback claims with amount and payout details, for finance (storage/payouts.py)"),
        ("shipments", "parcels to send with address and phone, for logistics (storage/shipments.py)"),
    ):
        batch = export_sub.add_parser(what, help=about, description=about[0].upper() + about[1:] + ".")
        batch.add_argument("--promotion", metavar="SLUG", required=True)
        batch.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        batch.add_argument("--output", metavar="FILE", help="write here instead of standard output")
        batch.set_defaults(handler=cmd_export_batch)
    subscribers = export_sub.add_parser(
        "subscribers",
        help="members who opted in to the newsletter",
        description="Members who opted in to the newsletter (columns: see storage/exports.py).",
    )
    subscribers.add_argument("--promotion", metavar="SLUG", help="only those with a claim for it (default: all)")
    subscribers.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    subscribers.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    subscribers.set_defaults(handler=cmd_export_file)

    imports = sub.add_parser(
        "import", help="read results of other systems back", description="Payments and tracking read back."
    )
    import_sub = imports.add_subparsers(dest="import_command", required=True, metavar="WHAT")
    for what, about in (
        ("payouts", "payments made: order_id, paid_on, reference (each customer told once)"),
        ("shipments", "parcels sent: order_id, carrier, tracking_number[, shipped_on, delivered_on, purpose]"),
    ):
        batch = import_sub.add_parser(what, help=about, description=about[0].upper() + about[1:] + ".")
        batch.add_argument("file", metavar="FILE.csv")
        batch.set_defaults(handler=cmd_import_batch)

    draw = sub.add_parser("draw", help="lucky draws", description="Lucky draws.")
    draw_sub = draw.add_subparsers(dest="draw_command", required=True, metavar="ACTION")
    draw_verify = draw_sub.add_parser(
        "verify",
        help="print a draw and check it against its seed",
        description="Print a drawn lucky draw as JSON (seed, hash, entrants, winners, reserves) and re-run it.",
    )
    draw_verify.add_argument("draw_id", metavar="DRAW_ID", type=int)
    draw_verify.set_defaults(handler=cmd_draw_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, [settings.bot_token.get_secret_value() if settings.bot_token else ""])
        handler: Command = args.handler
        return asyncio.run(handler(args, settings))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - operators get one line; details go to the log
        from storage.catalogue import CatalogueFileError
        from storage.promotion_loader import PromotionFileError

        if isinstance(exc, CatalogueFileError | PromotionFileError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
