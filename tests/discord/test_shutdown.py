"""`run_bot.py` as a deployment runs it, against the API double: SIGTERM / SIGINT stop it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys

import pytest

from tests.conftest import ROOT
from tests.discord.double import DiscordDouble, Recorded
from tests.discord.fixtures import TOKEN

# The real entry point, with discord.py pointed at the double first (the only change).
LAUNCHER = (
    "import sys\n"
    "from tests.discord.double import point_discord_py_at\n"
    "point_discord_py_at(int(sys.argv[1]))\n"
    "from bot.cli import main\n"
    "sys.exit(main([]))\n"
)


async def launch(port: int, tmp_path, **settings: str) -> asyncio.subprocess.Process:
    """`run_bot.py` (through `LAUNCHER`) with a token, discord.py pointed at `port`, these settings."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEPECHE_")},
        "DISCORD_TOKEN": TOKEN,
        "DEPECHE_EMBEDDINGS": "false",
        **settings,
        "PYTHONPATH": str(ROOT),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAUNCHER, str(port), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _is_reply(rec: Recorded) -> bool:
    return rec.method == "POST" and rec.path.endswith("/messages")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_the_bot_cleanly(corpus_dir, tmp_path, stop_signal):
    double = DiscordDouble()
    port = await double.start()
    database = tmp_path / "depeche.sqlite3"
    process = await launch(
        port,
        tmp_path,
        DEPECHE_GUILD_IDS=str(double.guild_id),
        DEPECHE_ASK_CHANNEL_IDS=str(double.ask_channel_id),
        DEPECHE_CORPUS_DIR=str(corpus_dir),
        DEPECHE_DATABASE_PATH=str(database),
        DEPECHE_CACHE_DIR=str(tmp_path / "cache"),
    )
    try:
        await double.wait_for(lambda r: r.method == "PUT" and r.path.endswith("/commands"), timeout=60)
        mark = len(double.requests)
        await double.send_message(
            double.user("bob"), "Qui est le porte-parole du Pentagone ?", channel_id=double.ask_channel_id
        )
        reply = await double.wait_for(_is_reply, after=mark, timeout=30)
        assert "Kirby" in str(reply.json)

        process.send_signal(stop_signal)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await double.stop()

    log = stderr.decode("utf-8", "replace")
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert TOKEN not in log
    assert log.count("articles, 32 sentences") == 1, "a log line was written twice"  # corpus loaded
    # The bot closed its gateway session with a close frame (discord.py sends 4000 or 1000);
    # a process that dies leaves 1006, abnormal closure.
    assert len(double.close_codes) == 1 and double.close_codes[0] in (1000, 4000)
    with sqlite3.connect(database) as db:  # the feedback database was left consistent
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_discord_out_of_reach_stops_with_one_line(corpus_dir, tmp_path):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    process = await launch(
        closed_port,
        tmp_path,
        DEPECHE_CORPUS_DIR=str(corpus_dir),
        DEPECHE_DATABASE_PATH=str(tmp_path / "depeche.sqlite3"),
        DEPECHE_CACHE_DIR="",
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    log = stderr.decode("utf-8", "replace")
    assert process.returncode == 1, log
    assert "cannot reach Discord" in log and "Traceback" not in log and TOKEN not in log
