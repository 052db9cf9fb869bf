"""Catalogue rules: which profiles an application allows, which registers exist where."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.core.context import Context

from eam.core.audit import Auditor
from eam.catalogue.loader import ApplicationSpec, CatalogueFile, ProfileSpec, RegisterSpec
from eam.catalogue.models import Register
from eam.catalogue.schemas import AllowedProfile, ApplicationOut, Profile, RegisterIn, RegisterOut, RegisterRecord, Retention
from eam.core.errors import AlreadyExists, Conflict, FieldError, NotFound, RegisterClosed, ValidationFailed
from eam.core.times import end_of_day
from eam.core.paging import page_of_sorted


class Catalogue:
    """The validated catalogue file plus registers that admins added through the API."""

    def __init__(self, file: CatalogueFile) -> None:
        self.file = file

    @property
    def application_codes(self) -> list[str]:
        return sorted(self.file.applications)

    def applications(self) -> list[ApplicationOut]:
        return [self._application_out(code, spec) for code, spec in sorted(self.file.applications.items())]

    @staticmethod
    def _application_out(code: str, spec: ApplicationSpec) -> ApplicationOut:
        return ApplicationOut(
            code=code,
            name=spec.name,
            profiles=[
                AllowedProfile(
                    key=p.key,
                    role=p.role,
                    label=p.label,
                    data_level=p.data_level,
                    author_group=p.author_group,
                    narrows_to=p.narrows_to,
                    csv_code=p.csv_code,
                )
                for p in spec.profiles
            ],
        )

    def require_application(self, code: str, field: str = "$.application") -> ApplicationSpec:
        spec = self.file.applications.get(code)
        if spec is None:
            allowed = self.application_codes
            raise ValidationFailed(
                f"unknown application {code!r}",
                [FieldError(field, f"must be one of {', '.join(allowed)}", allowed=allowed)],
            )
        return spec

    def resolve_profile(self, application: str, profile: Profile, field: str = "$.profile") -> ProfileSpec:
        """The catalogue entry ``profile`` stands for, or a 422 listing the allowed profiles."""
        spec = self.require_application(application)
        allowed = [p.key for p in spec.profiles]
        match = next(
            (p for p in spec.profiles if p.role == profile.role and p.data_level == profile.data_level),
            None,
        )
        if match is None:
            raise ValidationFailed(
                f"profile {_key(profile)!r} is not allowed in {application!r}",
                [FieldError(field, f"must be one of {', '.join(allowed)}", allowed=allowed)],
            )
        if match.author_group == "required" and profile.author_group is None:
            raise ValidationFailed(
                f"profile {match.key!r} requires an author group",
                [FieldError(f"{field}.author_group", "required for this role")],
            )
        if match.author_group == "forbidden" and profile.author_group is not None:
            raise ValidationFailed(
                f"profile {match.key!r} takes no author group",
                [FieldError(f"{field}.author_group", "must be absent for this role")],
            )
        return match

    def check_narrowing(self, application: str, requested: ProfileSpec, approved: ProfileSpec) -> None:
        """Approval may keep the requested profile or narrow it along ``narrows_to``."""
        if approved.key == requested.key or approved.key in requested.narrows_to:
            return
        allowed = [requested.key, *requested.narrows_to]
        raise ValidationFailed(
            f"{requested.key!r} cannot be approved as {approved.key!r}",
            [FieldError("$.profile", f"must be one of {', '.join(allowed)}", allowed=allowed)],
        )

    async def find_register(self, session: AsyncSession, code: str) -> RegisterOut | None:
        spec = self.file.registers.get(code)
        if spec is not None:
            return _file_register(code, spec)
        row = await session.get(Register, code)
        if row is None:
            return None
        return _api_register(row)

    async def require_register_in(self, session: AsyncSession, code: str, application: str) -> RegisterOut:
        """The register, available in ``application``; otherwise a 422 naming what is allowed."""
        register = await self.find_register(session, code)
        if register is None:
            known = [r.code for r in await self.registers(session, application=application)]
            raise ValidationFailed(
                f"unknown register {code!r}",
                [FieldError("$.register", f"registers available in {application}: {', '.join(known)}", allowed=known)],
            )
        if application not in register.applications:
            raise ValidationFailed(
                f"register {code!r} is not available in {application!r}",
                [
                    FieldError(
                        "$.application",
                        f"{code} is available in: {', '.join(register.applications)}",
                        allowed=register.applications,
                    )
                ],
            )
        return register

    async def capped_end(self, session: AsyncSession, code: str, valid_until: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        """Access to a register never outlasts it: ``valid_until`` capped at the register's end
        (none asked: its end). A register that has ended gives no new access (409)."""
        register = await self.find_register(session, code)
        ends_at = register.ends_at if register is not None else None
        if ends_at is None:
            return valid_until
        if ends_at <= now:
            raise RegisterClosed(f"register {code!r} ended on {register.ends_on}; it gives no new access", ends_at=ends_at.isoformat())  # type: ignore[union-attr]
        return ends_at if valid_until is None else min(valid_until, ends_at)

    async def require_open(self, session: AsyncSession, code: str, now: dt.datetime) -> None:
        """409 ``register-closed`` if the register has ended."""
        await self.capped_end(session, code, None, now)

    async def set_end(self, session: AsyncSession, auditor: Auditor, code: str, ends_on: dt.date | None) -> RegisterOut:
        """Set, move or remove the end date of a register added through the API (audited)."""
        if code in self.file.registers:
            raise Conflict(f"register {code!r} is defined in the catalogue file; set its ends_on there")
        row = await session.get(Register, code, with_for_update=True)
        if row is None:
            raise NotFound(f"no register {code!r}")
        before = {"code": code, "ends_on": row.ends_on.isoformat() if row.ends_on else None}
        row.ends_on = ends_on
        await session.flush()
        auditor.record("register.end_set", target_type="register", target_id=code, before=before, after={"code": code, "ends_on": ends_on.isoformat() if ends_on else None})
        return _api_register(row)

    async def registers(self, session: AsyncSession, application: str | None = None) -> list[RegisterOut]:
        found = {
            code: _file_register(code, spec)
            for code, spec in self.file.registers.items()
        }
        for row in await session.scalars(select(Register)):
            found.setdefault(
                row.code, _api_register(row)
            )
        registers = sorted(found.values(), key=lambda r: r.code)
        if application is not None:
            registers = [r for r in registers if application in r.applications]
        return registers

    async def add_register(
        self, session: AsyncSession, auditor: Auditor, data: RegisterIn, now: dt.datetime, actor_id: uuid.UUID
    ) -> RegisterOut:
        for index, app in enumerate(data.applications):
            self.require_application(app, field=f"$.applications[{index}]")
        if len(set(data.applications)) != len(data.applications):
            raise ValidationFailed("applications are listed twice", [FieldError("$.applications", "must be unique")])
        if await self.find_register(session, data.code) is not None:
            raise AlreadyExists(f"register {data.code!r} exists already", existing=f"/v1/registers/{data.code}")
        record = data.record.stripped()
        row = Register(
            code=data.code,
            name=data.name.strip(),
            applications=list(data.applications),
            created_at=now,
            created_by=actor_id,
            controller=record.controller,
            legal_basis=record.legal_basis,
            purpose=record.purpose,
            retention_years=record.retention.years,
            retention_months=record.retention.months,
            retention_note=record.retention.note,
            ends_on=data.ends_on,
        )
        session.add(row)
        await session.flush()
        out = _api_register(row)
        auditor.record(
            "register.added",
            target_type="register",
            target_id=row.code,
            after={
                "code": row.code,
                "name": row.name,
                "applications": row.applications,
                "record": msgspec.to_builtins(record),
                **({"ends_on": row.ends_on.isoformat()} if row.ends_on else {}),
            },
        )
        return out


def _file_register(code: str, spec: RegisterSpec) -> RegisterOut:
    record = spec.record.stripped() if spec.record is not None else None
    return RegisterOut(code=code, name=spec.name, applications=list(spec.applications), source="catalogue", record=record, **_end(spec.ends_on))


def _api_register(row: Register) -> RegisterOut:
    return RegisterOut(code=row.code, name=row.name, applications=list(row.applications), source="api", record=_record_of(row), **_end(row.ends_on))


def _end(ends_on: dt.date | None) -> dict[str, object]:
    return {"ends_on": ends_on, "ends_at": end_of_day(ends_on) if ends_on is not None else None}


def _record_of(row: Register) -> RegisterRecord | None:
    """The stored record; None for a register added before records existed (all columns null)."""
    if row.controller is None or row.legal_basis is None or row.purpose is None:
        return None
    retention = Retention(years=row.retention_years or 0, months=row.retention_months or 0, note=row.retention_note)
    return RegisterRecord(controller=row.controller, legal_basis=row.legal_basis, purpose=row.purpose, retention=retention)


def _key(profile: Profile) -> str:
    return f"{profile.role}/{profile.data_level}" if profile.data_level else profile.role


# -- operations (every caller: API, pages, CLI) ----------------------------------------------


def list_applications(ctx: Context) -> list[ApplicationOut]:
    """Applications and the profiles each allows."""
    ctx.require_platform("application", "read")
    return ctx.catalogue.applications()


async def list_registers(ctx: Context, application: str | None, limit: int, cursor: str | None) -> tuple[list[RegisterOut], str | None]:
    """Registers, by code (those of one application if ``application`` is given)."""
    ctx.require_platform("register", "read")
    registers = await ctx.catalogue.registers(ctx.session, application=application)
    return page_of_sorted(registers, lambda register: register.code, limit, cursor)


async def show_register(ctx: Context, code: str) -> RegisterOut:
    ctx.require_platform("register", "read")
    register = await ctx.catalogue.find_register(ctx.session, code)
    if register is None:
        raise NotFound(f"no register {code!r}")
    return register


async def add_register(ctx: Context, data: RegisterIn) -> RegisterOut:
    """Add a register (platform admins)."""
    ctx.require_platform("register", "create")
    return await ctx.catalogue.add_register(ctx.session, ctx.audit, data, ctx.now, ctx.actor_id)

