#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "report/html.hpp"

namespace aepipe::report {
namespace {

constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c",
                                    "#ff7f0e", "#9467bd", "#8c564b"};
constexpr int kColourCount = sizeof kColours / sizeof kColours[0];

// Pixel margins around the plot area: room for tick labels, axis labels, title and legend.
constexpr double kLeft = 72, kRight = 20, kTop = 48, kBottom = 50;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

bool finite(double x, double y) {
  return std::isfinite(x) && std::isfinite(y);
}

// The data's extent [min, max] over every finite point, per coordinate.
struct Extent {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  bool empty() const { return x_min > x_max; }
};

Extent extent_of(const Chart& chart) {
  Extent extent;
  for (const auto& series : chart.series)
    for (std::size_t i = 0; i < std::min(series.x.size(), series.y.size()); ++i) {
      if (!finite(series.x[i], series.y[i])) continue;
      extent.x_min = std::min(extent.x_min, series.x[i]);
      extent.x_max = std::max(extent.x_max, series.x[i]);
      extent.y_min = std::min(extent.y_min, series.y[i]);
      extent.y_max = std::max(extent.y_max, series.y[i]);
    }
  if (extent.empty()) extent = {0, 1, 0, 1};
  return extent;
}

std::string text_element(double x, double y, const std::string& anchor, const std::string& text,
                         const std::string& extra = "") {
  return "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" text-anchor=\"" + anchor + "\"" +
         extra + ">" + escape_html(text) + "</text>\n";
}

// Where each series' legend entry goes: left to right under the title, wrapped onto another
// row of kLegendRow pixels when the next would pass the right edge.
constexpr double kLegendRow = 18;
double legend_width(const Series& series) {
  return 28 + 7.0 * static_cast<double>(series.name.size());
}
std::vector<std::pair<double, double>> legend_places(const Chart& chart) {
  std::vector<std::pair<double, double>> places;
  double x = kLeft, y = 28;
  for (const auto& series : chart.series) {
    if (x > kLeft && x + legend_width(series) > chart.width - kRight) {
      x = kLeft;
      y += kLegendRow;
    }
    places.emplace_back(x, y);
    x += legend_width(series);
  }
  return places;
}

std::string line_element(double x1, double y1, double x2, double y2, const std::string& stroke) {
  return "<line x1=\"" + number(x1) + "\" y1=\"" + number(y1) + "\" x2=\"" + number(x2) +
         "\" y2=\"" + number(y2) + "\" stroke=\"" + stroke + "\"/>\n";
}

}  // namespace

Axis nice_axis(double low, double high, int target) {
  if (!(low <= high)) std::swap(low, high);
  if (high - low <= std::abs(high) * 1e-12) {  // one value: give it room on both sides
    const double pad = low != 0 ? std::abs(low) * 0.1 : 1.0;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power * 10;
  for (const double factor : {1.0, 2.0, 5.0})
    if (raw <= factor * power) {
      step = factor * power;
      break;
    }
  Axis axis;
  axis.step = step;
  axis.low = std::floor(low / step + 1e-9) * step;
  axis.high = std::ceil(high / step - 1e-9) * step;
  const auto count = static_cast<int>(std::lround((axis.high - axis.low) / step));
  for (int i = 0; i <= count; ++i) axis.ticks.push_back(axis.low + i * step);
  return axis;
}

std::string format_tick(double value, double step) {
  char text[32];
  if (std::abs(value) < step * 1e-9) value = 0;  // no "-0" or "1e-17" at the origin
  const double magnitude = std::max(std::abs(value), step);
  if (magnitude >= 1e6 || step < 1e-4) {
    std::snprintf(text, sizeof text, "%.3g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
  }
  return text;
}

std::string render_svg(const Chart& chart) {
  const double width = chart.width, height = chart.height;
  const auto legend = legend_places(chart);
  const double top = kTop + (legend.empty() ? 0.0 : legend.back().second - 28);
  const double plot_width = width - kLeft - kRight, plot_height = height - top - kBottom;
  const Extent extent = extent_of(chart);
  const Axis x_axis = nice_axis(extent.x_min, extent.x_max, 6);
  const Axis y_axis = nice_axis(extent.y_min, extent.y_max, 5);
  const auto px = [&](double x) {
    return kLeft + (x - x_axis.low) / (x_axis.high - x_axis.low) * plot_width;
  };
  const auto py = [&](double y) {
    return top + plot_height - (y - y_axis.low) / (y_axis.high - y_axis.low) * plot_height;
  };

  std::string out = "<svg class=\"chart\" data-chart=\"" + escape_html(chart.id) + "\" width=\"" +
                    std::to_string(chart.width) + "\" height=\"" + std::to_string(chart.height) +
                    "\" viewBox=\"0 0 " + std::to_string(chart.width) + " " +
                    std::to_string(chart.height) + "\" role=\"img\" aria-label=\"" +
                    escape_html(chart.title) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += text_element(kLeft, 18, "start", chart.title, " font-size=\"14\" font-weight=\"bold\"");
  for (const double tick : x_axis.ticks) {
    out += line_element(px(tick), top, px(tick), top + plot_height, "#e4e4e4");
    out += text_element(px(tick), top + plot_height + 16, "middle", format_tick(tick, x_axis.step));
  }
  for (const double tick : y_axis.ticks) {
    out += line_element(kLeft, py(tick), kLeft + plot_width, py(tick), "#e4e4e4");
    out += text_element(kLeft - 6, py(tick) + 4, "end", format_tick(tick, y_axis.step));
  }
  out += "<rect x=\"" + number(kLeft) + "\" y=\"" + number(top) + "\" width=\"" +
         number(plot_width) + "\" height=\"" + number(plot_height) +
         "\" fill=\"none\" stroke=\"#444\"/>\n";
  out += text_element(kLeft + plot_width / 2, height - 12, "middle", chart.x_label);
  const double label_y = top + plot_height / 2;
  out += text_element(16, label_y, "middle", chart.y_label,
                      " transform=\"rotate(-90 16 " + number(label_y) + ")\"");

  for (std::size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    const std::string colour = kColours[s % kColourCount];
    std::string points, markers;
    for (std::size_t i = 0; i < std::min(series.x.size(), series.y.size()); ++i) {
      if (!finite(series.x[i], series.y[i])) continue;
      const std::string x = number(px(series.x[i])), y = number(py(series.y[i]));
      points += (points.empty() ? "" : " ") + x + "," + y;
      markers += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"3\"/>";
    }
    const std::string name = escape_html(series.name);
    if (series.line)
      out += "<polyline data-series=\"" + name + "\" fill=\"none\" stroke=\"" + colour +
             "\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    out += "<g data-markers=\"" + name + "\" fill=\"" + colour + "\">" + markers + "</g>\n";
    // Legend: a swatch and the name.
    const auto [legend_x, legend_y] = legend[s];
    out += "<rect x=\"" + number(legend_x) + "\" y=\"" + number(legend_y) +
           "\" width=\"12\" height=\"12\" fill=\"" + colour + "\"/>\n";
    out += text_element(legend_x + 16, legend_y + 10, "start", series.name);
  }
  return out + "</svg>\n";
}

}  // namespace aepipe::report
