// MathJax 3 configuration, read by the bundled docs/assets/vendor/mathjax/tex-svg-full.js (no CDN).
// Pages: pymdownx.arithmatex (generic mode) writes \( \) and \[ \] inside elements of class "arithmatex".
// Notebook pages: mkdocs-jupyter typesets their .jupyter-wrapper blocks through this same MathJax.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "ams",
  },
  options: {
    ignoreHtmlClass: "tex2jax_ignore",
    processHtmlClass: "arithmatex|jupyter-wrapper",
  },
  svg: { fontCache: "global" },
};
