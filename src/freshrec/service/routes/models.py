"""Model versions: list them, serve a stored one, roll back. Swaps are atomic: no request fails or sees a mix."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path

from freshrec.engine.versions import ModelVersion
from freshrec.service.deps import Admin, Service, refusals
from freshrec.service.errors import ApiError
from freshrec.service.schemas import FieldProblem, ModelVersionOut, ModelVersions

router = APIRouter(prefix="/v1/models", tags=["models"])


def _out(version: ModelVersion) -> ModelVersionOut:
    return ModelVersionOut(**asdict(version))


@router.get("", response_model=ModelVersions, responses=refusals(401, 403))
async def list_versions(_: Admin, service: Service) -> ModelVersions:
    """Every stored version with its metadata, and the one serving. Admin scope."""
    versions = await service.call(service.engine.versions)
    return ModelVersions(active=service.engine.model_version, versions=[_out(v) for v in versions])


@router.post("/{version}/activate", response_model=ModelVersionOut,
             responses=refusals(401, 403, 404, 422, why={404: "no such model version"}))  # fmt: skip
async def activate(version: Annotated[int, Path(ge=1, le=2**31, description="a stored version")], _: Admin,
                   service: Service) -> ModelVersionOut:  # fmt: skip
    """Serve a stored version (for instance after a bad update). Admin scope."""
    try:
        return _out(await service.call(service.engine.activate, version))
    except KeyError as error:
        raise ApiError(
            404, "no such model version", [FieldProblem(field="version", problem=str(error.args[0]))]
        ) from None


@router.post("/rollback", response_model=ModelVersionOut,
             responses=refusals(401, 403, 409, why={409: "no earlier version to roll back to"}))  # fmt: skip
async def rollback(_: Admin, service: Service) -> ModelVersionOut:
    """Serve the version that served before the current one. Admin scope."""
    try:
        return _out(await service.call(service.engine.rollback))
    except LookupError as error:
        raise ApiError(409, "nothing to roll back to", [FieldProblem(field="version", problem=str(error))]) from None
