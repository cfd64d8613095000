/*
 * Keep plotly.js geo maps offline: never fetch a world topojson from cdn.plot.ly.
 *
 * A `go.Choropleth` on a geo subplot with a custom GeoJSON still asks for the base-map topojson
 * `<scope>_<resolution>m` (e.g. world_110m.json) from cdn.plot.ly unless it is already in
 * window.PlotlyGeoAssets.topojson. Our maps draw only their own GeoJSON (`fig.update_geos(visible=False)`,
 * no land, coastlines or borders), so an empty topology is all plotly needs.
 *
 * Dash loads every .js in assets/ as a plain <script> before dash-renderer and the components, and
 * plotly.js only creates window.PlotlyGeoAssets when it is undefined, so this runs first and survives.
 * We merge rather than replace in case something else registered assets already (plotly.js also caches
 * GeoJSON fetched by URL as top-level keys of the same object).
 */
(function () {
  "use strict";
  var assets = (window.PlotlyGeoAssets = window.PlotlyGeoAssets || {});
  var topojson = (assets.topojson = assets.topojson || {});
  var keys = ["world_110m", "world_50m", "asia_110m", "asia_50m"];
  for (var i = 0; i < keys.length; i++) {
    if (!topojson[keys[i]]) {
      topojson[keys[i]] = { type: "Topology", objects: {}, arcs: [] };
    }
  }
})();
