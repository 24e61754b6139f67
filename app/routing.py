"""URL rules whose builders are compiled when a URL is first built, not as the app is built."""

from __future__ import annotations

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    """Werkzeug compiles two small Python functions per rule (they build its URLs) as the
    rule is added: some 70 for Mailroom's routes, most of `create_app()`'s own CPU. A
    `flask mail worker` builds links to a handful of endpoints: each rule's pair is compiled
    when first used instead. URLs come out the same: the functions are werkzeug's own."""

    def _compile_builder(self, append_unknown: bool = True):
        compile_builder = super()._compile_builder
        compiled = None

        def build(rule: Rule, /, **values):
            nonlocal compiled
            if compiled is None:  # two threads may both compile: either result is the same
                compiled = compile_builder(append_unknown).__get__(rule, None)
            return compiled(**values)

        return build
