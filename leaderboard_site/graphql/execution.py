"""Plain types answered without per-field resolution.

graphql-core completes every field of every row through the same machinery (resolve info, the
resolver, the value's completion): about 5 µs a field, so a page of 100 leaderboard rows of 44
fields spends 20 ms there. Most of those fields are on plain types: types whose every field is
an attribute, or a resolver that takes nothing but `self` (an entry's `requests` and `votes`,
read from the page's batch loaders), without arguments, extensions or permissions. Their
selections are planned once per request (the fields asked, how each is read, each leaf's
serializer, lists and nested plain types included) and each row is then a dict built from its
attributes: a page of leaderboard entries is one plan run over 100 rows.

Fragments, aliases and @skip/@include are graphql-core's own collection, and the answer is the
same as the slow path's (tests/graphql prove it on the whole formatted row, nested lists too).
When a plan fails on a row (a resolver raises, a non-null field is null, a value does not
serialize), that row is completed again by the slow path, which puts the error at the field it
belongs to, as it always did; the plan's resolvers only read, so running one twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from math import inf
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.pyutils import Path
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    serialize_boolean,
    serialize_float,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BACKREF = "strawberry-definition"
Complete = Callable[[Any], Any]
Read = Callable[[Any], Any]
Plan = list[tuple[str, Complete]]


class NullValue(Exception):
    """A non-null field's value is null: the slow path reports it where it belongs."""


def _reader(field: GraphQLField) -> str | Read | None:
    """How to read a field from its parent without graphql-core: its attribute's name, or a
    resolver that takes only `self`; None for anything else (arguments, info, extensions...)."""
    definition = (field.extensions or {}).get(BACKREF)
    if field.args or definition is None or definition.extensions:
        return None
    if definition.permission_classes:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        return str(definition.python_name)
    reserved = (resolver.info_parameter, resolver.root_parameter, resolver.parent_parameter)
    if resolver.arguments or resolver.is_async or any(p is not None for p in reserved):
        return None
    function = resolver.wrapped_func
    if resolver.self_parameter is None:
        return lambda _source: function()
    return function  # type: ignore[no-any-return]


def _readers(type_: GraphQLObjectType) -> dict[str, str | Read] | None:
    """Every field's reader, when all of them have one (the type is plain); None otherwise."""
    cached: dict[str, str | Read] | bool | None = getattr(type_, "_plain_readers", False)
    if cached is False:
        found = {name: _reader(field) for name, field in type_.fields.items()}
        readers = {name: read for name, read in found.items() if read is not None}
        cached = readers if readers and len(readers) == len(found) else None
        type_._plain_readers = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[return-value]


def _handled_errors(schema: Any) -> bool:
    """Whether the schema turns some exceptions into results (strawberry's exception
    handlers): those fields' resolvers must run through strawberry."""
    strawberry_schema = (schema.extensions or {}).get(BACKREF)
    converter = getattr(strawberry_schema, "schema_converter", None)
    return bool(getattr(converter, "exception_handlers", ()))


def _serializer(type_: Any) -> Complete:
    """A leaf's serializer, with a shortcut for the values graphql-core's own scalars return
    unchanged (most of a row's leaves: a call less each, for the same answer)."""
    serialize = type_.serialize
    if serialize in (serialize_string, serialize_id):
        return lambda value: value if type(value) is str else serialize(value)
    if serialize is serialize_boolean:
        return lambda value: value if type(value) is bool else serialize(value)
    if serialize is serialize_float:
        return lambda value: (
            value if type(value) is float and -inf < value < inf else serialize(value)
        )
    if serialize is serialize_int:
        low, high = GRAPHQL_MIN_INT, GRAPHQL_MAX_INT
        return lambda value: (
            value if type(value) is int and low <= value <= high else serialize(value)
        )
    return serialize  # type: ignore[no-any-return]


class PlainExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Plan | None]] = {}
        manager = self.middleware_manager
        self._planned = not (manager and manager.middlewares) and not _handled_errors(self.schema)

    def _plan(self, type_: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        key = (type_, id(field_details_list))
        found = self._plans.get(key)
        if found is not None:
            return found[1]
        plan: Plan | None = None
        readers = _readers(type_) if self._planned else None
        if readers is not None:
            grouped = self.collect_subfields(type_, field_details_list).grouped_field_set
            plan = []
            for response_key, details in grouped.items():
                name = details[0].node.name.value
                if name == "__typename":
                    plan.append((response_key, _constant(type_.name)))
                    continue
                completer = self._completer(type_.fields[name].type, details)
                if completer is None:
                    plan = None
                    break
                plan.append((response_key, _field(readers[name], *completer)))
        self._plans[key] = (field_details_list, plan)  # kept alive: its id stays unique
        return plan

    def _completer(self, type_: GraphQLOutputType, details: Any) -> tuple[Complete, bool] | None:
        """How to complete a field's value that is not null, and whether it may be null; None
        when only the slow path can."""
        nullable = not isinstance(type_, GraphQLNonNull)
        named = type_ if nullable else type_.of_type  # type: ignore[union-attr]
        if is_leaf_type(named):
            return _serializer(named), nullable
        if isinstance(named, GraphQLList):
            item = self._completer(named.of_type, details)
            return None if item is None else (_listed(*item), nullable)
        if isinstance(named, GraphQLObjectType):
            plan = self._plan(named, details)
            return None if plan is None else (partial(_run, plan), nullable)
        return None  # interfaces, unions

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(return_type, field_details_list)
        if plan is not None:
            try:
                return _run(plan, result)
            except Exception:  # noqa: S110 - answered again below, error and all
                pass
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )


def _constant(value: str) -> Complete:
    return lambda _source: value


def _field(read: str | Read, complete: Complete, nullable: bool) -> Complete:
    """One field of a plan: read from the source (an attribute, or a resolver) and completed."""
    if isinstance(read, str):
        attribute = read

        def get(source: Any) -> Any:
            value = getattr(source, attribute)
            if value is None:
                if nullable:
                    return None
                raise NullValue
            return complete(value)

        return get

    def resolve(source: Any) -> Any:
        value = read(source)  # type: ignore[operator]
        if value is None:
            if nullable:
                return None
            raise NullValue
        return complete(value)

    return resolve


def _listed(complete: Complete, nullable: bool) -> Complete:
    def items(values: Any) -> list[Any]:
        if isinstance(values, str | bytes | dict):  # graphql-core refuses these as lists
            raise TypeError("not a list")
        if nullable:
            return [None if value is None else complete(value) for value in values]
        if any(value is None for value in values):
            raise NullValue
        return [complete(value) for value in values]

    return items


def _run(plan: Plan, source: Any) -> dict[str, Any]:
    return {key: get(source) for key, get in plan}
