"""Drawing curves: downsampling that keeps extremes, and the pictures reporters put under findings.

Nothing here is imported on the plain lint path: the engine and reporters import these modules
only when a plot is drawn (``--plot``, ``--format html|markdown``, ``curvelint report``).

* `downsample`: min/max per pixel bin, non-finite points as marks;
* `curves`: a run's series reduced for drawing (small, picklable: it crosses worker processes);
* `focus`: what a finding points at (series involved, judged window, key points, log scale);
* `scale`: axis mappings, ticks and number formatting shared by every picture;
* `braille`, `terminal`: plots for the text reporter; `svg`: charts for the HTML report;
  `sparkline`: one-line pictures for Markdown.
"""
