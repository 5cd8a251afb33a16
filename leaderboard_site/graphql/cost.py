"""The cost limit: how many list items a document may ask for, before any resolver runs.

Each list field costs the items it may return times the items of the lists around it: its
page's `pageSize` (the argument, a variable's value, or the field's default) when a field above
it up to the enclosing list has one, the number of `names` for `compare`, else LIST_SIZE. So
`leaderboard(pageSize: 100) { items { requests { id } } }` costs 100 + 100 * 10. A document
over GRAPHQL_MAX_COST is refused whole (BAD_REQUEST, `details: {cost, max_cost}`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from leaderboard_site.api.errors import ApiError

LIST_SIZE = 10  # what a list without a page size counts as (a model's requests, keys...)


def _unwrapped_is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Walk:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any]) -> None:  # fmt: skip
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _fields(self, selections: SelectionSetNode, seen: frozenset[str]) -> Iterator[FieldNode]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    yield from self._fields(fragment.selection_set, seen | {name})

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = argument.value
                if isinstance(value, VariableNode):
                    return self.variables.get(value.name.value)
                if isinstance(value, ListValueNode):
                    return value.values
                return getattr(value, "value", None)
        return None

    def _size(self, node: FieldNode, definition: Any) -> int | None:
        """The page size this field sets for the lists under it, if it has one."""
        if "pageSize" in definition.args:
            given = self._argument(node, "pageSize")
            try:
                return (
                    max(1, int(given))
                    if given is not None
                    else int(definition.args["pageSize"].default_value)
                )
            except (TypeError, ValueError):
                return LIST_SIZE
        names = self._argument(node, "names") if "names" in definition.args else None
        return len(names) if isinstance(names, list | tuple) else None

    def cost(self, parent: GraphQLObjectType, selections: SelectionSetNode | None,
             outer: int, pending: int | None) -> int:  # fmt: skip
        """The cost of a selection set inside lists of `outer` items in all."""
        if selections is None:
            return 0
        total = 0
        for node in self._fields(selections, frozenset()):
            definition = parent.fields.get(node.name.value)
            if definition is None:  # __typename, or a field validation refuses anyway
                continue
            size = self._size(node, definition) or pending
            multiplier = outer
            if _unwrapped_is_list(definition.type):
                items = size or LIST_SIZE
                total += outer * items
                multiplier, size = outer * items, None
            child = get_named_type(definition.type)
            if isinstance(child, GraphQLObjectType):
                total += self.cost(child, node.selection_set, multiplier, size)
        return total


def document_cost(schema: GraphQLSchema, document: Any, operation_name: str | None,
                  variables: dict[str, Any] | None) -> int:  # fmt: skip
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}  # fmt: skip
    walk = _Walk(schema, fragments, variables or {})
    total = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = getattr(definition.name, "value", None)
        if operation_name is not None and name != operation_name:
            continue
        roots = {OperationType.QUERY: schema.query_type,
                OperationType.MUTATION: schema.mutation_type,
                OperationType.SUBSCRIPTION: schema.subscription_type}  # fmt: skip
        root = roots[definition.operation]
        if root is not None:
            total += walk.cost(root, definition.selection_set, 1, None)
    return total


class CostLimiter(SchemaExtension):
    """Refuses a document whose lists may hold more than GRAPHQL_MAX_COST items in all."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            cost = document_cost(context.schema._schema, context.graphql_document,
                                 context.operation_name, context.variables)  # fmt: skip
            limit = settings.GRAPHQL_MAX_COST
            if cost > limit:
                refused = ApiError(
                    f"The query may return {cost} list items in all, over the limit of {limit}: "
                    "ask for smaller pages or fewer nested lists.",
                    details={"cost": cost, "max_cost": limit},
                )
                error = GraphQLError(refused.message, original_error=refused)
                context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield
