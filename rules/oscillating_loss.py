"""CL105 oscillating-loss."""

from __future__ import annotations


from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L


class OscillatingLoss(Rule):
    """The training loss swings up and down instead of settling.

    Symptom: slow swings of the training loss around its local level (per-step noise is
    smoothed away first with a rolling median over ~2% of the points; the level is a
    rolling median over ~20%) that do not shrink: in the second half of the run the
    swings are at least ``min_swing`` (IQR-based std, in log units for positive losses:
    0.2 is about +-22%), the second half's swings are not clearly smaller than the first
    half's (not both a ratio < ``min_spread_ratio`` and a Brown-Forsythe p <
    ``settle_alpha``), they are structured (an |autocorrelation| at lag 1..4 >=
    ``min_autocorr`` and outside the white-noise band 2.5/sqrt(n) of the second half's n
    points: waves or an up/down zigzag, not independent minibatch noise, which is large in
    log units for a loss near 0; below 7 points nothing is structured), and either the
    second half has no significant downward trend (the loss is not getting anywhere) or
    the swings are as large as the level itself (>= ``level_swing``). Swings that stay at
    the bottom of the
    run's range (the second half's 90th percentile below ``min_scale_share`` of the starting
    level: 0.005 <-> 0.05 after starting at 1.8) are large in log units but small at the
    run's scale, and are not reported. Isolated spikes are left to
    loss-spikes (CL106), a loss that ends far above its minimum to diverging-loss
    (CL104).

    Usual causes: learning rate too high for the curvature of the loss (the optimizer
    overshoots), a batch size too small for the learning rate, momentum too high,
    unshuffled data (each epoch sees the classes in the same order), or a cyclic/warm-restart
    schedule with too large a peak.

    Fixes: lower the learning rate (or the peak of the schedule) 3-10x, or raise the
    batch size; shuffle the training data every epoch; add a decay schedule; clip
    gradients.

    Keras::

        opt = keras.optimizers.SGD(learning_rate=1e-2, momentum=0.9, clipnorm=1.0)
        model.fit(ds.shuffle(10_000).batch(128), epochs=..., callbacks=[
            keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=3)])

    PyTorch::

        loader = DataLoader(train_set, batch_size=128, shuffle=True)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    """

    code = "CL105"
    name = "oscillating-loss"
    since = "0.1.0"
    severity = Severity.WARNING
    defers_to = ("CL102", "CL103", "CL104")
    summary = "training loss swings without settling (learning rate too high, batch too small)"
    hint = "lower the learning rate 3-10x or increase the batch size; shuffle the data; add an LR decay schedule"
    options = {
        "min_points": Option(12, "fewest finite points to judge swings"),
        "alpha": Option(0.01, "significance level of the downward trend"),
        "min_swing": Option(0.2, "smallest swing amplitude (robust std, log units for positive losses)"),
        "level_swing": Option(0.5, "swings this large are reported even when the loss trends down"),
        "min_spread_ratio": Option(0.8, "late/early swing ratio below which the swings may be settling"),
        "settle_alpha": Option(0.05, "significance (Brown-Forsythe) needed to call smaller late swings settled"),
        "min_scale_share": Option(0.05, "swings whose upper level (90th percentile of the second half) stays "
                                        "below this share of the starting level are not reported: large in "
                                        "log units, small at the run's scale"),
        "min_autocorr": Option(0.4, "largest |lag-1..4 autocorrelation| of the deviations above which they "
                                    "are swings, not independent batch noise"),
    }

    def check(self, ctx: Context):
        s = yield from L.judged_train_loss(ctx)
        if s is None:
            return
        o = ctx.options
        if L.swing_late(ctx, s) < o["min_swing"]:
            return  # small swings: the rest of `swing` is not needed
        sh = L.shape(ctx, s)
        top = max(sh.start, sh.first)
        if top > 0 and stats.percentiles(s.values[len(s) // 2:], 90)[0] < o["min_scale_share"] * top:
            return  # the swings live at the bottom of the run's range: 0.005 <-> 0.05 after 1.8 is converged
        sw = L.swing(ctx, s)
        # settling = the swings shrink, clearly (ratio) and significantly (Brown-Forsythe)
        settling = sw.spread.ratio < o["min_spread_ratio"] and sw.spread.p_value < o["settle_alpha"]
        if settling or not sw.structured(o["min_autocorr"]):
            return
        n, h = len(s), len(s) // 2
        tr = L.trend(ctx, s, h, n)
        down = tr.p_value < o["alpha"] and tr.slope < 0
        if down and sw.late < o["level_swing"]:
            return
        unit = L.swing_size(sw.late, sw.logged)
        why = "with no significant downward trend" if not down else "as large as the loss itself"
        yield ctx.finding(
            f"training loss swings {unit} around its local level over {L.window(s, h)} {why} "
            f"(second-half trend {L.fmt_p(tr.p_value)}, Sen slope {tr.slope:.3g}/step); swings late/early "
            f"{sw.spread.ratio:.2f} (Brown-Forsythe {L.fmt_p(sw.spread.p_value)}): not settling",
            metric=s.name, step=s.steps[h],
            evidence={"first_step": s.steps[0], "last_step": s.steps[-1], "points": n,
                      "swing_late": sw.late, "swing_early": sw.early, "swing_ratio": sw.spread.ratio,
                      "levene_p_value": sw.spread.p_value, "log_units": sw.logged, "autocorr": sw.autocorr,
                      "trend_slope": tr.slope, "trend_p_value": tr.p_value})
