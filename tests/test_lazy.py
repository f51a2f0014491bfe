"""The lazy public names of ``scalebayes._lazy``: a module that fails to import says why."""

import sys
import textwrap

import pytest


def _package(tmp_path, body: str):
    """A package ``lazypkg`` whose public name ``thing`` lives in ``_mod`` (of ``body``)."""
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        textwrap.dedent(
            """
            from scalebayes._lazy import lazy_exports

            __all__ = ["thing"]
            __getattr__, __dir__ = lazy_exports(globals(), {"_mod": ["thing"]})
            """
        )
    )
    (root / "_mod.py").write_text(textwrap.dedent(body))
    return root


@pytest.fixture
def importable(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [n for n in sys.modules if n == "lazypkg" or n.startswith("lazypkg.")]:
        del sys.modules[name]


def test_a_name_is_imported_on_first_use(tmp_path, importable):
    _package(tmp_path, "thing = 42\n")
    from lazypkg import thing

    assert thing == 42


def test_an_attribute_error_inside_the_module_is_named_not_hidden(tmp_path, importable):
    # e.g. equinox 0.11.10 under jax 0.11.2: `jax.core.Primitive` is gone, and `from
    # scalebayes.pfn import BarDistribution` said only "cannot import name"
    _package(tmp_path, "import types\nthing = types.SimpleNamespace().Primitive\n")
    with pytest.raises(ImportError) as caught:
        from lazypkg import thing  # noqa: F401
    message = str(caught.value)
    assert "lazypkg.thing could not be imported: lazypkg._mod raised AttributeError" in message
    assert "Primitive" in message and "jax " in message
    assert isinstance(caught.value.__cause__, AttributeError)


def test_an_unknown_name_is_still_an_attribute_error(tmp_path, importable):
    _package(tmp_path, "thing = 1\n")
    import lazypkg

    with pytest.raises(AttributeError, match="has no attribute 'other'"):
        lazypkg.other  # noqa: B018
