"""Analysis of observed and modelled outcomes: frames, Pareto frontiers."""

from adaptive.analysis.frames import observed_frontier, trials_frame
from adaptive.analysis.pareto import pareto_mask

__all__ = ["observed_frontier", "pareto_mask", "trials_frame"]
