/** A tiny server-side SVG plotting kit: line/area charts with markers, horizontal bar charts, histograms. */
export { lineChart, type LineChartOptions, type LineSeries, type Marker } from './line-chart';
export { barChart, type BarChartOptions, type BarItem } from './bar-chart';
export { histogram, histogramBins, type HistogramBin, type HistogramMarker, type HistogramOptions } from './histogram';
export { niceAxis, niceStep, formatTick, timeTicks, formatTime, type NiceAxis } from './ticks';
export { esc } from './svg';
