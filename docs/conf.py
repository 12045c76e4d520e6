"""Sphinx configuration of the fastseq documentation (``sphinx-build -W docs docs/_build``)."""
from __future__ import annotations

import importlib.util

import fastseq

project = "fastseq"
author = "the fastseq developers"
copyright = "the fastseq developers"
version = release = fastseq.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# torch is optional: without it the torch module is documented from a stand-in
autodoc_mock_imports = [] if importlib.util.find_spec("torch") else ["torch"]
autosummary_generate = True
autosummary_ignore_module_all = False   # document exactly each module's __all__
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"              # the numpydoc sections carry the types

numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# Every public name has a numpydoc docstring with an example: the build fails otherwise.
numpydoc_validation_checks = {
    "all",
    "GL01", "GL02",        # where the text starts and ends: style, not content
    "ES01",                # an extended summary is welcome, not required
    "SA01",                # "See Also" where it helps, not everywhere
    "SS05", "SS06",        # summaries need not start with a verb or fit one line
    "RT02",                # a return value may be named
    "PR09", "RT05",        # descriptions need not end with a period
    "PR06",                # types read "int" or "array-like", however numpydoc spells them
}
numpydoc_validation_exclude = {
    r"\._[A-Za-z]\w*$",    # private names
    r"\.__\w+__$",         # special methods
    # type aliases carry no docstring of their own: their module documents them
    r"^fastseq\.io\.Sentence$",
    r"^fastseq\.features\.Template$",
    # named-tuple fields: their class's Parameters section documents them
    r"^fastseq\.(Marginals|CRFGrad|structured\.DurationChain|stream\.Committed)\.\w+$",
}

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = f"fastseq {release}"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}
