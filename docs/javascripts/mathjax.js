// MathJax 3 configuration, shared by the API pages (pymdownx.arithmatex emits \( \) and
// \[ \]) and the tutorial notebooks ($ and $$ in markdown cells, typeset by mkdocs-jupyter
// with this same MathJax script). Re-typesets on each page, as mkdocs-material suggests.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
};

if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (!window.MathJax.typesetPromise) return; // not loaded yet: its startup typesets
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  });
}
