"""Plain types answered without per-field resolution.

graphql-core completes every field of every row through the same machinery (resolve info, the
resolver, the value's completion): about 5 µs a field, so a page of 100 leaderboard rows of 44
fields spends 20 ms there. Most of those fields are on plain types (an entry's `model`,
`evaluations`, `features`, `metadata`...): types whose every field is an attribute, without a
resolver, arguments or extensions. Their selections are planned once per request (the fields
asked, their attributes, each leaf's serializer) and each row is then a dict built from its
attributes. Fragments, aliases and @skip/@include are graphql-core's own collection; the answer
is the same as the slow path's (tests/graphql prove it on the whole formatted row).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BACKREF = "strawberry-definition"
Complete = Callable[[Any], Any]
Plan = list[tuple[str, Complete]]


def _plain(type_: GraphQLObjectType) -> bool:
    """Every field a bare attribute: no resolver, arguments, extensions or permissions."""
    cached = getattr(type_, "_plain_fields", None)
    if cached is None:
        cached = bool(type_.fields) and all(
            not field.args
            and (definition := (field.extensions or {}).get(BACKREF)) is not None
            and definition.base_resolver is None
            and not definition.extensions
            and not definition.permission_classes
            for field in type_.fields.values()
        )
        type_._plain_fields = cached  # type: ignore[attr-defined]
    return bool(cached)


class PlainExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Plan | None]] = {}

    def _plan(self, type_: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        key = (type_, id(field_details_list))
        found = self._plans.get(key)
        if found is not None:
            return found[1]
        plan: Plan | None = None
        manager = self.middleware_manager
        if _plain(type_) and not (manager and manager.middlewares):
            grouped = self.collect_subfields(type_, field_details_list).grouped_field_set
            plan = []
            for response_key, details in grouped.items():
                name = details[0].node.name.value
                if name == "__typename":
                    plan.append((response_key, _constant(type_.name)))
                    continue
                field = type_.fields[name]
                attribute = field.extensions[BACKREF].python_name
                complete = self._completer(field.type, details)
                if complete is None:
                    plan = None
                    break
                plan.append((response_key, _getter(attribute, complete)))
        self._plans[key] = (field_details_list, plan)  # kept alive: its id stays unique
        return plan

    def _completer(self, type_: GraphQLOutputType, details: Any) -> Complete | None:
        """How to complete an attribute's value; None when only the slow path can."""
        nullable = not isinstance(type_, GraphQLNonNull)
        named = type_ if nullable else type_.of_type  # type: ignore[union-attr]
        if is_leaf_type(named):
            serialize = named.serialize  # type: ignore[union-attr]
            if isinstance(named, GraphQLLeafType) and nullable:
                return lambda value: None if value is None else serialize(value)
            return serialize
        if isinstance(named, GraphQLObjectType):
            plan = self._plan(named, details)
            if plan is None:
                return None
            if nullable:
                return lambda value: None if value is None else _run(plan, value)
            return lambda value: _run(plan, value)
        return None  # lists, interfaces, unions

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(return_type, field_details_list)
        if plan is None:
            return super().collect_and_execute_subfields(
                return_type, field_details_list, path, result, position_context
            )
        return _run(plan, result)


def _constant(value: str) -> Complete:
    return lambda _source: value


def _getter(attribute: str, complete: Complete) -> Complete:
    def get(source: Any) -> Any:
        return complete(getattr(source, attribute))

    return get


def _run(plan: Plan, source: Any) -> dict[str, Any]:
    return {key: get(source) for key, get in plan}
