"""The `webhook.*` verbs: register (secret shown once), list, a webhook's deliveries, redeliver."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.webhooks import rules
from services.notifications.webhooks.events import WebhookDeactivated, WebhookRegistered
from services.notifications.webhooks.hooks import HookCache
from services.notifications.webhooks.signing import new_secret
from services.notifications.webhooks.store import (
    DEAD,
    DELIVERED,
    DELIVERIES,
    PENDING,
    WEBHOOKS,
    delivery_dto,
    webhook_dto,
    without_query,
)
from shared.auth import Principal, Role, hidden
from shared.contracts.common import ById
from shared.contracts.webhooks import DeliveryPage, Redeliver, RegisterWebhook, WebhookPage
from shared.errors import Conflict, Forbidden
from shared.ids import new_id
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Handler, Request
from shared.mongo import Transactor, UnitOfWork, now, recall, remember, remembered
from shared.privacy import FieldCipher
from shared.records import flat_and
from shared.settings import Settings
from shared.territory import TerritoryReplica

SERVICE = "notifications"
WHO = (Role.SUPERADMIN, Role.ADMIN, Role.DEPARTMENT)


def department_key(p: Principal) -> str | None:
    return rules.dept_key(p.region, p.dept) if p.role is Role.DEPARTMENT and p.region and p.dept else None


def owner_of(p: Principal) -> str:
    key = department_key(p)
    return f"dept:{key}" if key else f"sub:{p.sub}"


def allowed(p: Principal, action: str) -> None:
    if p.role is Role.SERVICE or p.role not in WHO:
        raise Forbidden(f"role {p.role} may not {action}", {"role": str(p.role)})
    if p.role is Role.DEPARTMENT and department_key(p) is None:
        raise Forbidden("a department token without its department may not use webhooks")


def scope(p: Principal) -> dict[str, Any]:
    """The webhooks a caller sees: a department's own; an administrator's region subtree."""
    key = department_key(p)
    if key:
        return {"dept": key}
    return p.scope_filter("path")


class WebhookVerbs:
    def __init__(
        self,
        db: AsyncDatabase,
        transact: Transactor,
        territory: TerritoryReplica,
        cipher: FieldCipher,
        settings: Settings,
        hint: Any,
        hooks: HookCache,
    ):
        self.db, self.transact, self.territory, self.cipher = db, transact, territory, cipher
        self.settings, self.hint, self.hooks = settings, hint, hooks

    def table(self) -> dict[str, Handler]:
        return {
            "webhook.register": self.register,
            "webhook.list": self.list,
            "webhook.deliveries": self.deliveries,
            "webhook.redeliver": self.redeliver,
            "webhook.deactivate": self.deactivate,
        }

    async def register(self, req: Request) -> dict[str, Any]:
        p = req.principal
        allowed(p, "register webhooks")
        body = req.parse(RegisterWebhook)
        url = rules.check_url(body.url, allow_private=self.settings.webhooks_private_allowed)
        types = rules.check_event_types(body.eventTypes, None)
        path = self.territory.visible_path(p, body.regionId)
        owner = owner_of(p)
        key = f"webhook.register:{owner}:{p.sub}:{body.idempotencyKey}" if body.idempotencyKey else None
        if key and (done := await remembered(self.db, key)) is not None:
            return self._reveal(done)

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            if key and (twin := await recall(uow, key)) is not None:
                return twin
            count = await uow.db[WEBHOOKS].count_documents({"owner": owner, "active": True}, session=uow.session)
            if count >= rules.MAX_WEBHOOKS_PER_OWNER:
                raise Conflict(
                    f"at most {rules.MAX_WEBHOOKS_PER_OWNER} webhooks per owner",
                    {"limit": rules.MAX_WEBHOOKS_PER_OWNER},
                )
            secret, hook_id = new_secret(), new_id("w")
            doc: dict[str, Any] = {
                "_id": hook_id,
                "owner": owner,
                "url": url,
                "eventTypes": types,
                "region": body.regionId,
                "path": path,
                "dept": department_key(p),
                "active": True,
                "secret_enc": self.cipher.encrypt(secret),
                "createdAt": now(),
                "createdBy": p.sub,
            }
            uow.insert(WEBHOOKS, doc)
            # the audit record: who registered what, never the secret (nor a query string's token)
            uow.record(
                make_event(
                    SERVICE,
                    "WEBHOOK_REGISTERED",
                    hook_id,
                    WebhookRegistered(
                        aggregateId=hook_id,
                        url=without_query(url),
                        eventTypes=types,
                        regionId=body.regionId,
                        departmentKey=doc["dept"],
                    ).model_dump(mode="json"),
                    path=path,
                    actor=p.sub,
                )
            )
            result = {"webhook": webhook_dto(doc), "secret_enc": doc["secret_enc"]}
            if key:
                await remember(uow, key, result)
            return result

        registered = await self.transact(work)
        self.hooks.invalidate()  # its events count from now on in this process
        return self._reveal(registered)

    def _reveal(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The registration's answer: the secret, decrypted for this reply only."""
        return {"webhook": stored["webhook"], "secret": self.cipher.decrypt(stored["secret_enc"])}

    async def list(self, req: Request) -> dict[str, Any]:
        p = req.principal
        allowed(p, "read webhooks")
        page = req.parse(WebhookPage)
        query = scope(p)
        return await self._page(WEBHOOKS, query, page.first, page.after, webhook_dto)

    async def _visible_hook(self, p: Principal, hook_id: str) -> dict[str, Any]:
        hook = await self.db[WEBHOOKS].find_one(flat_and({"_id": hook_id}, scope(p)), {"secret_enc": 0})
        if hook is None:
            raise hidden(p, f"webhook {hook_id}")
        return hook

    async def deliveries(self, req: Request) -> dict[str, Any]:
        p = req.principal
        allowed(p, "read webhook deliveries")
        page = req.parse(DeliveryPage)
        await self._visible_hook(p, page.webhookId)
        return await self._page(DELIVERIES, {"webhookId": page.webhookId}, page.first, page.after, delivery_dto)

    async def redeliver(self, req: Request) -> dict[str, Any]:
        """A delivery back in the queue with a fresh set of tries (a PENDING one is left as it is)."""
        p = req.principal
        allowed(p, "redeliver webhook deliveries")
        body = req.parse(Redeliver)
        row = await self.db[DELIVERIES].find_one({"_id": body.deliveryId}, {"body": 0})
        if row is None:
            raise hidden(p, f"delivery {body.deliveryId}")
        try:
            await self._visible_hook(p, row["webhookId"])
        except Forbidden as e:
            raise hidden(p, f"delivery {body.deliveryId}") from e
        if row["status"] in (DEAD, DELIVERED):
            at = now()
            row = (
                await self.db[DELIVERIES].find_one_and_update(
                    {"_id": row["_id"], "status": row["status"]},
                    {
                        "$set": {
                            "status": PENDING,
                            "attempts": 0,
                            "nextAt": at,
                            "claim": None,
                            "redeliveredAt": at,
                            "redeliveredBy": p.sub,
                        },
                    },
                    projection={"body": 0},
                    return_document=True,
                )
                or row
            )
            self.hint([(row["_id"], row["webhookId"])])
        return delivery_dto(row)

    async def deactivate(self, req: Request) -> dict[str, Any]:
        """No more deliveries to this webhook (its queued ones end DEAD); it stays in the list,
        inactive, with its log. Audited (WEBHOOK_DEACTIVATED)."""
        p = req.principal
        allowed(p, "deactivate webhooks")
        body = req.parse(ById)
        hook = await self._visible_hook(p, body.id)
        if not hook["active"]:
            await self._end_queued(hook["_id"])  # again: a process that died after the change left some
            return webhook_dto(hook)

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            done = await uow.db[WEBHOOKS].find_one_and_update(
                {"_id": hook["_id"], "active": True},
                {"$set": {"active": False, "deactivatedAt": now(), "deactivatedBy": p.sub}},
                projection={"secret_enc": 0},
                return_document=True,
                session=uow.session,
            )
            if done is None:  # deactivated meanwhile
                return webhook_dto({**hook, "active": False})
            uow.record(
                make_event(
                    SERVICE,
                    "WEBHOOK_DEACTIVATED",
                    hook["_id"],
                    WebhookDeactivated(aggregateId=hook["_id"], url=without_query(hook["url"])).model_dump(mode="json"),
                    path=hook["path"],
                    actor=p.sub,
                )
            )
            return webhook_dto(done)

        off = await self.transact(work)
        self.hooks.invalidate()
        await self._end_queued(hook["_id"])
        return off

    async def _end_queued(self, hook_id: str) -> None:
        """A deactivated webhook's queued deliveries end DEAD (a try under way still writes how it
        went); outside the deactivation's transaction, which a long queue would make too large."""
        await self.db[DELIVERIES].update_many(
            {"webhookId": hook_id, "status": PENDING},
            {"$set": {"status": DEAD, "lastError": "the webhook was deactivated", "lastAt": now()}},
        )

    async def _page(self, coll: str, query: dict[str, Any], first: int, after: str | None, dto: Any) -> dict[str, Any]:
        q = flat_and(query, {"_id": {"$lt": after}}) if after else query
        docs = await self.db[coll].find(q, {"secret_enc": 0, "body": 0}).sort("_id", -1).to_list(first + 1)
        items = [dto(d) for d in docs[:first]]
        return {
            "items": items,
            "totalCount": await self.db[coll].count_documents(query),
            "hasNextPage": len(docs) > first,
            "endCursor": items[-1]["id"] if items else None,
        }
