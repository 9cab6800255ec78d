"""A small Discord API double on 127.0.0.1: REST under /api/v10 and the gateway websocket.

The real discord.py client connects to it (see `point_discord_py_at`). The double records every
REST request, answers the routes the bot uses, rejects what Discord rejects (over-long content
or embeds: 400 with code 50035), and lets a test inject gateway events — a message, an
interaction — and then await the bot's REST calls. It can also inject faults: close the
gateway, answer 429 or 500 on the next sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
BODY = web.RequestKey("body", object)
PERMISSIONS_ALL = str((1 << 50) - 1)
PERMISSIONS_MEMBER = str(
    discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,  # as Discord's default @everyone role
        read_message_history=True,
        embed_links=True,
        use_application_commands=True,
    ).value
)


def point_discord_py_at(port: int) -> None:
    """Route discord.py's REST and gateway to the double (class attributes, set before start)."""
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")


@dataclass
class Recorded:
    """One REST request the bot made."""

    method: str
    path: str
    json: Any
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Fault:
    """A planned failure of the next matching REST calls."""

    method: str
    path_prefix: str
    status: int
    times: int
    retry_after: float = 0.1


class DiscordDouble:
    """The fake Discord: one guild with a text channel, an ask-channel and a forum."""

    def __init__(self, *, second_guild: bool = False) -> None:
        self._ids = itertools.count()
        self.app_id = self.snowflake()
        self.bot_user = self.user("Dépêche", bot=True, user_id=self.app_id)
        self.guild_id = self.snowflake()
        self.admin_role_id = self.snowflake()
        self.general_id = self.snowflake()
        self.ask_channel_id = self.snowflake()
        self.forum_id = self.snowflake()
        self.dm_channel_id = self.snowflake()
        self.no_embeds_id = self.snowflake()
        self.read_only_id = self.snowflake()
        # A second guild (opt-in), on the other shard of two: shard = (guild id >> 22) % count.
        self.other_guild_id: int | None = None
        self.other_general_id: int | None = None
        if second_guild:
            other = self.snowflake()
            while self.shard_of(other, 2) == self.shard_of(self.guild_id, 2):
                other = self.snowflake()
            self.other_guild_id, self.other_general_id = other, self.snowflake()
        self.requests: list[Recorded] = []
        self.messages: dict[int, dict] = {}
        self.commands: list[dict] = []
        self.faults: list[Fault] = []
        self.files: dict[str, bytes] = {}
        self.identifies = 0
        self.presences: list[dict] = []  # the presence each IDENTIFY carried
        self.resumes = 0
        self._sockets: list[_Session] = []
        self.close_codes: list[int | None] = []  # one per ended gateway session (1000: closed by the bot)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- ids and objects -------------------------------------------------------------------

    @staticmethod
    def shard_of(guild_id: int, count: int) -> int:
        """The shard Discord sends a guild's events on."""
        return (guild_id >> 22) % count

    def guild_of_channel(self, channel_id: int) -> int:
        """The guild a channel belongs to."""
        return (
            self.other_guild_id
            if channel_id == self.other_general_id and self.other_guild_id
            else self.guild_id
        )

    def snowflake(self) -> int:
        """A fresh, valid-looking Discord id (17+ digits)."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._ids) & 0x3FFFFF)

    def user(self, name: str, *, bot: bool = False, user_id: int | None = None) -> dict:
        """A user object."""
        return {
            "id": str(user_id or self.snowflake()),
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
            "flags": 0,
        }

    def member(self, user: dict, *, roles: list[int] = (), admin: bool = False) -> dict:
        """A guild member object (with the `flags` the client insists on)."""
        return {
            "user": user,
            "roles": [str(r) for r in roles],
            "nick": None,
            "avatar": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "premium_since": None,
            "permissions": PERMISSIONS_ALL if admin else PERMISSIONS_MEMBER,
        }

    def _channel(self, channel_id: int, name: str, kind: int, **extra: Any) -> dict:
        return {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": 0,
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            **extra,
        }

    def channel(self, channel_id: int) -> dict:
        """One of the guild's channels, as GUILD_CREATE describes it."""
        return next(c for c in self.guild()["channels"] if c["id"] == str(channel_id))

    async def delete_channel(self, channel_id: int) -> None:
        """Inject CHANNEL_DELETE, as when an admin deletes the channel."""
        await self.dispatch("CHANNEL_DELETE", self.channel(channel_id))

    def guilds(self) -> list[dict]:
        """GUILD_CREATE payloads of every guild."""
        return [self.guild()] + ([self.other_guild()] if self.other_guild_id else [])

    def other_guild(self) -> dict:
        """The second guild: one text channel, the same roles."""
        assert self.other_guild_id is not None and self.other_general_id is not None
        payload = self.guild()
        gid = str(self.other_guild_id)
        general = self._channel(self.other_general_id, "general", 0)
        general["guild_id"] = gid
        payload.update(id=gid, name="Second newsroom", channels=[general])
        payload["roles"] = [dict(r, id=gid) if r["name"] == "@everyone" else r for r in payload["roles"]]
        return payload

    def guild(self) -> dict:
        """GUILD_CREATE payload."""
        gid = str(self.guild_id)
        role = {"hoist": False, "managed": False, "mentionable": False, "color": 0, "flags": 0, "icon": None}
        return {
            "id": gid,
            "name": "Newsroom",
            "owner_id": str(self.snowflake()),
            "icon": None,
            "roles": [
                {"id": gid, "name": "@everyone", "permissions": PERMISSIONS_MEMBER, "position": 0, **role},
                {
                    "id": str(self.admin_role_id),
                    "name": "Editors",
                    "permissions": PERMISSIONS_MEMBER,
                    "position": 1,
                    **role,
                },
            ],
            "channels": [
                self._channel(self.general_id, "general", 0),
                self._channel(self.ask_channel_id, "ask-depeche", 0),
                self._channel(
                    self.no_embeds_id,
                    "no-embeds",
                    0,
                    permission_overwrites=[{"id": gid, "type": 0, "allow": "0", "deny": str(1 << 14)}],
                ),
                self._channel(
                    self.read_only_id,
                    "announcements",
                    0,
                    permission_overwrites=[{"id": gid, "type": 0, "allow": "0", "deny": str(1 << 11)}],
                ),
                self._channel(
                    self.forum_id,
                    "questions",
                    15,
                    available_tags=[],
                    default_reaction_emoji=None,
                    default_sort_order=None,
                    default_forum_layout=0,
                ),
            ],
            "members": [self.member(self.bot_user)],
            "member_count": 3,
            "threads": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "large": False,
            "unavailable": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_tier": 0,
            "preferred_locale": "fr",
            "verification_level": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "default_message_notifications": 0,
            "system_channel_flags": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # -- server ----------------------------------------------------------------------------

    async def start(self) -> int:
        """Serve on a free port of 127.0.0.1; return the port."""
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        api = "/api/v10"
        app.router.add_get(api + "/users/@me", self._me)
        app.router.add_get(api + "/oauth2/applications/@me", self._application)
        app.router.add_get(api + "/gateway", self._gateway_url)
        app.router.add_get(api + "/gateway/bot", self._gateway_url)
        app.router.add_put(api + "/applications/{app}/commands", self._sync_commands)
        app.router.add_put(api + "/applications/{app}/guilds/{guild}/commands", self._sync_commands)
        app.router.add_post(api + "/channels/{channel}/messages", self._create_message)
        app.router.add_post(api + "/channels/{channel}/typing", self._typing)
        app.router.add_post(api + "/channels/{channel}/threads", self._start_forum_thread)
        app.router.add_get(api + "/channels/{channel}/messages/{message}", self._get_message)
        app.router.add_patch(api + "/channels/{channel}/messages/{message}", self._edit_message)
        app.router.add_delete(api + "/channels/{channel}/messages/{message}", self._delete_message)
        app.router.add_post(api + "/interactions/{id}/{token}/callback", self._interaction_callback)
        app.router.add_post(api + "/webhooks/{app}/{token}", self._followup)
        app.router.add_patch(api + "/webhooks/{app}/{token}/messages/{message}", self._edit_webhook_message)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        """Close every gateway session and the server."""
        for session in list(self._sockets):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path == "/gateway" or request.path.startswith("/attachments/"):
            return await handler(request)
        body: Any = None
        if request.can_read_body:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                body = json.loads(form.get("payload_json", "null"))  # type: ignore[arg-type]
            else:
                raw = await request.text()
                body = json.loads(raw) if raw else None
        request[BODY] = body
        try:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and request.method == fault.method
                    and request.path.startswith(fault.path_prefix)
                ):
                    fault.times -= 1
                    self.requests.append(Recorded(request.method, request.path, body))
                    return self._fault_response(fault)
            response = await handler(request)
            self.requests.append(Recorded(request.method, request.path, body))
            return response
        finally:
            async with self._changed:
                self._changed.notify_all()

    def _fault_response(self, fault: Fault) -> web.Response:
        if fault.status == 429:
            payload = {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": False,
            }
            return _json(
                payload,
                status=429,
                headers={
                    "Via": "1.1 google",
                    "Retry-After": str(fault.retry_after),
                    "X-RateLimit-Scope": "user",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(fault.retry_after),
                },
            )
        return _json({"message": "Internal Server Error", "code": 0}, status=fault.status)

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user)

    async def _typing(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(self.app_id),
                "name": "Dépêche",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.user("owner"),
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
            }
        )

    async def _gateway_url(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": f"ws://127.0.0.1:{self.port}/gateway",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _sync_commands(self, request: web.Request) -> web.Response:
        echoed = [
            {
                "description": "",
                **c,
                "id": str(self.snowflake()),
                "application_id": str(self.app_id),
                "version": "1",
            }
            for c in request[BODY]
        ]
        self.commands = echoed
        return _json(echoed)

    # -- messages ----------------------------------------------------------------------------

    async def _create_message(self, request: web.Request) -> web.Response:
        body = request[BODY] or {}
        error = discord_limits_error(body)
        if error:
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": error}, status=400)
        channel_id = int(request.match_info["channel"])
        message = self.message(
            channel_id,
            self.bot_user,
            body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
        )
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
            message["type"] = 19
        self.messages[int(message["id"])] = message
        return _json(message)

    async def _start_forum_thread(self, request: web.Request) -> web.Response:
        """The bot opens a forum post: the thread and its first message (same id), announced to
        the gateway with THREAD_CREATE as Discord does."""
        body = request[BODY] or {}
        forum_id = int(request.match_info["channel"])
        if forum_id != self.forum_id:
            return _json({"code": 50024, "message": "Cannot execute action on this channel type"}, 400)
        first = body.get("message") or {}
        name_ok = 1 <= len(body.get("name") or "") <= 100
        error = discord_limits_error(first) or (None if name_ok else {"name": "1 to 100 characters"})
        if error:
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": error}, status=400)
        thread_id = self.snowflake()
        thread = self._thread(thread_id, body["name"], self.bot_user["id"], forum_id)
        message = self.message(
            thread_id,
            self.bot_user,
            first.get("content") or "",
            embeds=first.get("embeds") or [],
            components=first.get("components") or [],
            message_id=thread_id,
        )
        message["allowed_mentions"] = first.get("allowed_mentions")
        self.messages[thread_id] = message
        await self.dispatch("THREAD_CREATE", thread)
        return _json({**thread, "message": message})

    async def _get_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(int(request.match_info["message"]))
        if message is None:
            return _json({"code": 10008, "message": "Unknown Message"}, status=404)
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(int(request.match_info["message"]))
        if message is None or message["channel_id"] != request.match_info["channel"]:
            return _json({"code": 10008, "message": "Unknown Message"}, status=404)
        if message["author"]["id"] != self.bot_user["id"]:
            return _json({"code": 50005, "message": "Cannot edit a message authored by another user"}, 403)
        body = request[BODY] or {}
        error = discord_limits_error({**message, **body})
        if error:
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": error}, status=400)
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] or ([] if key != "content" else "")
        message["edited_timestamp"] = dt.datetime.now(dt.UTC).isoformat()
        return _json(message)

    async def _delete_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(int(request.match_info["message"]))
        if message is None or message["channel_id"] != request.match_info["channel"]:
            return _json({"code": 10008, "message": "Unknown Message"}, status=404)
        del self.messages[int(message["id"])]
        return web.Response(status=204)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        body = request[BODY] or {}
        data = body.get("data") or {}
        error = discord_limits_error(data)
        if error:
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": error}, status=400)
        kind = body.get("type")
        payload: dict[str, Any] = {
            "interaction": {
                "id": request.match_info["id"],
                "type": 2,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
            },
            "resource": {"type": kind},
        }
        if kind in (4, 5, 7):
            message = self.message(
                self.general_id,
                self.bot_user,
                data.get("content") or "",
                embeds=data.get("embeds") or [],
                components=data.get("components") or [],
            )
            self.messages[int(message["id"])] = message
            payload["interaction"]["response_message_id"] = message["id"]
            payload["resource"]["message"] = message
        return _json(payload)

    async def _followup(self, request: web.Request) -> web.Response:
        body = request[BODY] or {}
        error = discord_limits_error(body)
        if error:
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": error}, status=400)
        message = self.message(
            self.general_id,
            self.bot_user,
            body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
        )
        self.messages[int(message["id"])] = message
        return _json(message)

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        body = request[BODY] or {}
        message = self.message(
            self.general_id, self.bot_user, body.get("content") or "", embeds=body.get("embeds") or []
        )
        return _json(message)

    def message(
        self,
        channel_id: int,
        author: dict,
        content: str,
        *,
        embeds: list | None = None,
        components: list | None = None,
        mentions: list | None = None,
        guild: bool = True,
        reply_to: dict | None = None,
        message_id: int | None = None,
    ) -> dict:
        """A message object as Discord sends it in MESSAGE_CREATE and REST answers."""
        message: dict[str, Any] = {
            "id": str(message_id or self.snowflake()),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds or [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": components or [],
        }
        guild_id = self.guild_of_channel(channel_id)
        if guild:
            message["guild_id"] = str(guild_id)
        if reply_to is not None:
            message["type"] = 19
            message["message_reference"] = {
                "message_id": reply_to["id"],
                "channel_id": str(channel_id),
                "guild_id": str(guild_id) if guild else None,
            }
            message["referenced_message"] = reply_to
        return message

    # -- gateway -----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        session = _Session(ws, zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None)
        self._sockets.append(session)
        await session.send({"op": 10, "d": {"heartbeat_interval": 45000}})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT and msg.type != WSMsgType.BINARY:
                    continue
                await self._on_gateway_message(session, json.loads(msg.data))
        finally:
            self._sockets.remove(session)
            self.close_codes.append(ws.close_code)
        return ws

    async def _on_gateway_message(self, session: _Session, payload: dict) -> None:
        op = payload.get("op")
        if op == 1:
            await session.send({"op": 11})
        elif op == 2:
            self.identifies += 1
            self.presences.append(payload["d"].get("presence") or {})
            session.shard = tuple(payload["d"].get("shard") or (0, 1))
            await self._ready(session)
        elif op == 6:
            self.resumes += 1
            session.seq = payload["d"].get("seq") or 0
            await session.dispatch("RESUMED", {})

    async def _ready(self, session: _Session) -> None:
        await session.dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": g["id"], "unavailable": True} for g in self._guilds_of(session)],
                "session_id": f"session-{self.snowflake()}",
                "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                "application": {"id": str(self.app_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "shard": list(session.shard),
            },
        )
        for guild in self._guilds_of(session):
            await session.dispatch("GUILD_CREATE", guild)

    def _guilds_of(self, session: _Session) -> list[dict]:
        shard, count = session.shard
        return [g for g in self.guilds() if self.shard_of(int(g["id"]), count) == shard]

    def _receives(self, session: _Session, data: dict) -> bool:
        """Whether a session gets an event: its guild's shard, and direct messages on shard 0."""
        shard, count = session.shard
        guild_id = data.get("guild_id") if isinstance(data, dict) else None
        return self.shard_of(int(guild_id), count) == shard if guild_id else shard == 0

    async def dispatch(self, event: str, data: dict, timeout: float = 30) -> None:
        """Send a dispatch event to the gateway sessions of its guild's shard (waiting until one
        is connected: a process may still be starting)."""
        await self.wait_connected()
        deadline = time.monotonic() + timeout
        while not any(self._receives(s, data) for s in self._sockets) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for session in list(self._sockets):
            if self._receives(session, data):
                await session.dispatch(event, data)

    async def wait_connected(self, timeout: float = 10) -> None:
        """Wait until a gateway session is open."""
        deadline = time.monotonic() + timeout
        while not self._sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no gateway session")
            await asyncio.sleep(0.01)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway session as Discord does on a server-side hiccup (resumable)."""
        for session in list(self._sockets):
            await session.ws.close(code=code, message=b"double: closing")

    # -- what tests call ---------------------------------------------------------------------

    async def send_message(
        self,
        author: dict,
        content: str,
        *,
        channel_id: int | None = None,
        member: dict | None = None,
        mentions: list | None = None,
        guild: bool = True,
        reply_to: dict | None = None,
        message_id: int | None = None,
    ) -> dict:
        """Inject MESSAGE_CREATE as if `author` had posted `content`."""
        channel = channel_id or self.general_id
        message = self.message(
            channel, author, content, mentions=mentions, guild=guild, reply_to=reply_to, message_id=message_id
        )
        if guild:
            message["member"] = {k: v for k, v in (member or self.member(author)).items() if k != "user"}
        self.messages[int(message["id"])] = message
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def edit_message(self, message: dict, content: str) -> dict:
        """Inject MESSAGE_UPDATE as if the author had edited `message` to read `content`."""
        message.update(content=content, edited_timestamp=dt.datetime.now(dt.UTC).isoformat())
        # Discord recomputes mentions from the new text
        message["mentions"] = [u for u in message["mentions"] if f"<@{u['id']}>" in content]
        await self.dispatch("MESSAGE_UPDATE", message)
        return message

    async def delete_messages(self, *messages: dict) -> None:
        """Inject MESSAGE_DELETE (one message) or MESSAGE_DELETE_BULK (several, as a purge does)."""
        for message in messages:
            self.messages.pop(int(message["id"]), None)
        where = {"channel_id": messages[0]["channel_id"]}
        if "guild_id" in messages[0]:
            where["guild_id"] = messages[0]["guild_id"]
        if len(messages) == 1:
            await self.dispatch("MESSAGE_DELETE", {"id": messages[0]["id"], **where})
        else:
            await self.dispatch("MESSAGE_DELETE_BULK", {"ids": [m["id"] for m in messages], **where})

    def _thread(self, thread_id: int, title: str, owner_id: str, forum_id: int) -> dict:
        return {
            **self._channel(thread_id, title, 11),
            "parent_id": str(forum_id),
            "owner_id": owner_id,
            "message_count": 1,
            "member_count": 1,
            "newly_created": True,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "locked": False,
                "archive_timestamp": dt.datetime.now(dt.UTC).isoformat(),
            },
        }

    async def open_forum_post(self, author: dict, title: str, content: str) -> dict:
        """A new forum post: THREAD_CREATE, then its opening message (same id as the thread)."""
        thread_id = self.snowflake()
        await self.dispatch("THREAD_CREATE", self._thread(thread_id, title, author["id"], self.forum_id))
        return await self.send_message(author, content, channel_id=thread_id, message_id=thread_id)

    async def interact(
        self,
        user: dict,
        kind: int,
        data: dict,
        *,
        member: dict | None = None,
        guild: bool = True,
        message: dict | None = None,
        locale: str = "fr",
        channel_id: int | None = None,
    ) -> dict:
        """Inject INTERACTION_CREATE (2 = command, 3 = component, 4 = autocomplete), from a
        member whose Discord client speaks `locale` (in `channel_id`, default #general)."""
        channel_id = channel_id or self.general_id
        gid = str(self.guild_of_channel(channel_id))
        interaction = {
            "id": str(self.snowflake()),
            "application_id": str(self.app_id),
            "type": kind,
            "token": f"token-{self.snowflake()}",
            "version": 1,
            "data": data,
            "locale": locale,
            "guild_locale": "fr",
            "app_permissions": PERMISSIONS_ALL,
            "entitlements": [],
            "authorizing_integration_owners": {"0": gid},
            "context": 0 if guild else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel": {
                "id": str(channel_id),
                "type": 0 if guild else 1,
                "guild_id": gid,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            },
            "channel_id": str(channel_id),
        }
        if guild:
            interaction["guild_id"] = gid
            interaction["member"] = member or self.member(user)
        else:
            interaction["user"] = user
        if message is not None:
            interaction["message"] = message
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    def command(self, name: str) -> dict:
        """The synced command called `name` (for its id and options)."""
        return next(c for c in self.commands if c["name"] == name)

    async def slash(
        self,
        user: dict,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        **kwargs: Any,
    ) -> dict:
        """Invoke a synced slash command (or one of its subcommands) with options.

        An option whose value is an attachment from `attachment()` or a channel from `channel()`
        is sent as Discord does: its id as the value, the object itself under `resolved`.
        """
        command = self.command(name)
        resolved: dict[str, dict] = {}
        opts = []
        channels: dict[str, dict] = {}
        for key, value in (options or {}).items():
            if isinstance(value, dict) and "filename" in value:
                resolved[value["id"]] = value
                opts.append({"name": key, "type": 11, "value": value["id"]})
            elif isinstance(value, dict) and "position" in value:  # a channel from `channel()`
                channels[value["id"]] = {**value, "permissions": PERMISSIONS_ALL}
                opts.append({"name": key, "type": 7, "value": value["id"]})
            else:
                opts.append({"name": key, "type": _option_type(value), "value": value})
        if subcommand:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if resolved or channels:
            data["resolved"] = {"attachments": resolved, "channels": channels}
        return await self.interact(user, 2, data, **kwargs)

    def attachment(self, filename: str, content: bytes) -> dict:
        """An uploaded file, served by the double as Discord's CDN would."""
        attachment_id = str(self.snowflake())
        self.files[attachment_id] = content
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}"
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": "text/plain",
        }

    async def _attachment(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["id"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    async def wait_for(
        self, predicate: Callable[[Recorded], bool], *, timeout: float = 10, after: int = 0
    ) -> Recorded:
        """The first recorded request (from index `after`) matching `predicate`; waits for it."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for rec in self.requests[after:]:
                    if predicate(rec):
                        return rec
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        "the bot made no matching request; got:\n"
                        + "\n".join(f"{r.method} {r.path}" for r in self.requests[after:])
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def sent(self, after: int = 0) -> list[Recorded]:
        """Messages the bot posted in channels (from request index `after`)."""
        return [r for r in self.requests[after:] if r.method == "POST" and r.path.endswith("/messages")]


class _Session:
    """One gateway websocket connection, with its own zlib stream and sequence number."""

    def __init__(self, ws: web.WebSocketResponse, compressor: Any) -> None:
        self.ws = ws
        self.compressor = compressor
        self.seq = 0
        self.shard: tuple[int, int] = (0, 1)  # (shard id, shard count) from IDENTIFY

    async def send(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        if self.compressor is None:
            await self.ws.send_str(data.decode())
        else:
            await self.ws.send_bytes(
                self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
            )

    async def dispatch(self, event: str, data: dict) -> None:
        self.seq += 1
        await self.send({"op": 0, "t": event, "s": self.seq, "d": data})


def _json(payload: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    # discord.py wants exactly "application/json" (no charset) to parse the body.
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3


def discord_limits_error(body: dict) -> dict | None:
    """Discord's message limits; the error object of a 400/50035 answer, or None when valid."""
    content = body.get("content") or ""
    if len(content) > 2000:
        return {
            "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer."}]}
        }
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        return {"embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Too many embeds."}]}}
    for embed in embeds:
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        fields = embed.get("fields") or []
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total = len(title) + len(description) + len(footer) + len(author)
        total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
        if (
            len(title) > 256
            or len(description) > 4096
            or len(fields) > 25
            or len(footer) > 2048
            or len(author) > 256
            or total > 6000
            or any(len(f.get("name") or "") > 256 or len(f.get("value") or "") > 1024 for f in fields)
        ):
            return {
                "embeds": {
                    "_errors": [
                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Embed size exceeds maximum size"}
                    ]
                }
            }
    return None
