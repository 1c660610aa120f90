#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "report/svg_chart.hpp"

namespace aepipe::report {
namespace {

// The points="..." of every polyline, in order, as counts of "x,y" pairs.
std::vector<int> polyline_point_counts(const std::string& svg) {
  std::vector<int> counts;
  const std::regex points("<polyline[^>]*points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), points); it != std::sregex_iterator();
       ++it) {
    const std::string text = (*it)[1];
    int pairs = 0;
    for (const char c : text) pairs += c == ',';
    counts.push_back(pairs);
  }
  return counts;
}

TEST(ReportSvg, NiceAxesUseOneTwoOrFiveTimesAPowerOfTen) {
  Axis axis = nice_axis(0, 1, 5);
  EXPECT_DOUBLE_EQ(axis.step, 0.2);
  EXPECT_DOUBLE_EQ(axis.low, 0);
  EXPECT_DOUBLE_EQ(axis.high, 1);
  EXPECT_EQ(axis.ticks.size(), 6u);

  axis = nice_axis(0.013, 0.097, 5);
  EXPECT_DOUBLE_EQ(axis.step, 0.02);
  EXPECT_NEAR(axis.low, 0.0, 1e-12);
  EXPECT_NEAR(axis.high, 0.1, 1e-12);

  axis = nice_axis(1, 20, 6);  // epochs
  EXPECT_DOUBLE_EQ(axis.step, 5);
  EXPECT_DOUBLE_EQ(axis.low, 0);
  EXPECT_DOUBLE_EQ(axis.high, 20);

  axis = nice_axis(-37, 1234, 5);
  EXPECT_DOUBLE_EQ(axis.step, 500);
  EXPECT_DOUBLE_EQ(axis.low, -500);
  EXPECT_DOUBLE_EQ(axis.high, 1500);
}

TEST(ReportSvg, AOneValueRangeIsWidened) {
  for (const double value : {0.0, 2e-4, 5.0, -3.0}) {
    const Axis axis = nice_axis(value, value, 5);
    EXPECT_LT(axis.low, value) << value;
    EXPECT_GT(axis.high, value) << value;
    EXPECT_GE(axis.ticks.size(), 2u) << value;
  }
}

TEST(ReportSvg, TickLabelsHaveTheDigitsTheStepNeeds) {
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(1500, 500), "1500");
  EXPECT_EQ(format_tick(3, 1), "3");
  EXPECT_EQ(format_tick(0.4, 0.2), "0.4");
  EXPECT_EQ(format_tick(1e-17, 0.1), "0.0");  // rounding noise at the origin
  EXPECT_EQ(format_tick(2e-5, 1e-5), "2e-05");
}

TEST(ReportSvg, EachSeriesIsOnePolylineWithAPointPerFiniteValue) {
  Chart chart{"loss", "Loss", "epoch", "loss", {}, 560, 340};
  chart.series.push_back({"training", {1, 2, 3, 4}, {0.5, 0.3, 0.2, 0.15}, true});
  chart.series.push_back({"validation", {1, 2, 3, 4}, {0.6, NAN, 0.25, INFINITY}, true});
  chart.series.push_back({"points only", {1, 2}, {0.4, 0.1}, false});
  const std::string svg = render_svg(chart);
  EXPECT_EQ(polyline_point_counts(svg), (std::vector<int>{4, 2}));
  EXPECT_NE(svg.find("data-chart=\"loss\""), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"training\""), std::string::npos);
  // Every finite point gets a marker, line or not: 4 + 2 + 2.
  int circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1))
    ++circles;
  EXPECT_EQ(circles, 8);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  EXPECT_EQ(svg.find("http"), std::string::npos);  // inline SVG needs no xmlns
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(ReportSvg, PointsFallInsideThePlotArea) {
  Chart chart{"c", "t", "x", "y", {{"s", {0.3, 7.9}, {-2, 41}, true}}, 400, 300};
  const std::string svg = render_svg(chart);
  const std::regex circle("<circle cx=\"([-0-9.]+)\" cy=\"([-0-9.]+)\"");
  int seen = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator();
       ++it, ++seen) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    EXPECT_GE(x, 72);
    EXPECT_LE(x, 400 - 20);
    EXPECT_GE(y, 48);
    EXPECT_LE(y, 300 - 50);
  }
  EXPECT_EQ(seen, 2);
}

TEST(ReportSvg, LongLegendsWrapAndPushThePlotDown) {
  Chart chart{"c", "t", "x", "y", {}, 400, 300};
  const std::vector<std::string> names = {"this model", "PCA 30-d", "JPEG (stb, mosaic)",
                                          "PCA (table)"};
  for (const auto& name : names) chart.series.push_back({name, {0.1, 0.5}, {17, 25}, true});
  const std::string svg = render_svg(chart);
  // Legend swatches: the 12 x 12 rects; each entry (swatch, gap, about 7 pixels per
  // character) ends inside the chart's width less its right margin.
  const std::regex swatch("<rect x=\"([-0-9.]+)\" y=\"([-0-9.]+)\" width=\"12\"");
  std::vector<double> rows;
  std::size_t seen = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), swatch); it != std::sregex_iterator();
       ++it, ++seen) {
    ASSERT_LT(seen, names.size());
    EXPECT_LE(std::stod((*it)[1]) + 28 + 7.0 * static_cast<double>(names[seen].size()), 400 - 20)
        << names[seen];
    rows.push_back(std::stod((*it)[2]));
  }
  ASSERT_EQ(seen, names.size());
  EXPECT_EQ(rows.front(), 28);
  EXPECT_GT(rows.back(), 28);  // wrapped
  // The plot area starts below the last legend row.
  const std::regex plot("<rect x=\"72.0\" y=\"([-0-9.]+)\" width=\"[-0-9.]+\" height");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(svg, match, plot));
  EXPECT_GT(std::stod(match[1]), rows.back() + 12);
  // One short series stays on one row under the title, the plot at its usual place.
  const std::string one = render_svg({"c", "t", "x", "y", {{"s", {1}, {2}, true}}, 400, 300});
  ASSERT_TRUE(std::regex_search(one, match, plot));
  EXPECT_EQ(std::stod(match[1]), 48);
}

TEST(ReportSvg, TextIsEscaped) {
  Chart chart{"x\"y", "a < b", "bits & pixels", "<dB>", {{"PCA <32>", {1}, {2}, true}}, 560, 340};
  const std::string svg = render_svg(chart);
  EXPECT_EQ(svg.find("a < b"), std::string::npos);
  EXPECT_NE(svg.find("a &lt; b"), std::string::npos);
  EXPECT_NE(svg.find("bits &amp; pixels"), std::string::npos);
  EXPECT_NE(svg.find("&lt;dB&gt;"), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"PCA &lt;32&gt;\""), std::string::npos);
  EXPECT_NE(svg.find("data-chart=\"x&quot;y\""), std::string::npos);
}

TEST(ReportSvg, AnEmptyChartStillDrawsItsAxes) {
  const std::string svg = render_svg({"e", "empty", "x", "y", {{"none", {}, {}, true}}, 300, 200});
  EXPECT_NE(svg.find("<rect"), std::string::npos);
  EXPECT_EQ(polyline_point_counts(svg), (std::vector<int>{0}));
}

}  // namespace
}  // namespace aepipe::report
