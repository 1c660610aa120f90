#pragma once
// Line and scatter charts as inline SVG text (no scripts, no external resources): axes with
// ticks at 1, 2 or 5 times a power of ten, axis labels, a title and a legend.
#include <string>
#include <vector>

namespace aepipe::report {

struct Series {
  std::string name;
  std::vector<double> x, y;  // [n] each; points with a non-finite coordinate are left out
  bool line = true;          // join the points in the order given; false: markers only
};

struct Chart {
  std::string id;  // data-chart attribute, so tests and styles can find the chart
  std::string title, x_label, y_label;
  std::vector<Series> series;
  int width = 560, height = 340;  // pixels
};

// An axis range [low, high] cut by ticks every `step`: low and high are multiples of step.
struct Axis {
  double low = 0, high = 1, step = 1;
  std::vector<double> ticks;  // low, low + step, ..., high
};

// About `target` ticks covering [low, high] (low <= high; an empty range is widened).
Axis nice_axis(double low, double high, int target);

// `value` with as many decimals as a tick step of `step` needs ("0.25", "1500", "1e-05").
std::string format_tick(double value, double step);

// The chart as an <svg> element. Each series is one <polyline data-series="NAME"> (line
// series) with one point per finite (x, y), plus a circle per point.
std::string render_svg(const Chart& chart);

}  // namespace aepipe::report
