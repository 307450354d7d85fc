"""Statistical primitives shared by the curve rules.

Pure functions on 1-D numpy arrays (``steps`` as the x axis, ``values`` as y) that
return small frozen dataclasses, so a rule can copy the numbers straight into a
finding's evidence (``dataclasses.asdict``). Every function stays near-linear in the
number of points: per-step logs with 100,000+ points are binned (medians of equal-count
bins) before any quadratic estimator such as Mann-Kendall or Theil-Sen. Thresholds in
the rules are relative (ratios, fractions of a level), never absolute loss values.

No lint imports scipy's packages (scipy.stats ~0.6 s, scipy.ndimage ~0.3 s of start-up): the
test p-values (Mann-Kendall, Brown-Forsythe, Mann-Whitney) are computed here, rolling medians
of short series with numpy, and those of long series with scipy's compiled 1-D median filter
loaded on its own (`rolling_median`). Only the unused `ema` and odd inputs (NaN in a window
wider than twice the series, an old scipy) import scipy.signal / scipy.ndimage.

The primitives live in small modules (basic, smoothing, levels, trends, significance, outliers);
this package re-exports them, so rules write ``stats.trend(...)``.
"""

from __future__ import annotations

from .basic import (  # noqa: F401
    after_step,
    as_dict,
    can_log,
    head,
    iqr_scale,
    mad,
    median,
    percentiles,
    ratio,
    rel_change,
    tail,
    to_log,
)
from .levels import (  # noqa: F401
    Extremum,
    Progress,
    Stall,
    at_steps,
    best,
    last_improvement,
    level,
    noise_scale,
    progress,
)
from .significance import (  # noqa: F401
    Shift,
    SpreadComparison,
    autocorr,
    autocorrs,
    betainc,
    brown_forsythe,
    compare_spread,
    f_sf,
    mann_whitney_greater,
    norm_sf,
    residuals,
    shift_down,
)
from .smoothing import (  # noqa: F401
    MAX_TREND_POINTS,
    auto_window,
    bin_medians,
    ema,
    rolling_median,
    smooth,
)
from .outliers import (  # noqa: F401
    Jump,
    Spike,
    lasting_jump,
    log_diff_z,
    robust_z,
    spikes,
    terminal_jump,
)
from .trends import (  # noqa: F401
    Trend,
    mann_kendall,
    sen_slope,
    trend,
)
