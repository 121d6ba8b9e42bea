/** A tiny server-side SVG plotting kit: line/area charts with markers, horizontal bar charts. */
export { lineChart, type LineChartOptions, type LineSeries, type Marker } from './line-chart';
export { barChart, type BarChartOptions, type BarItem } from './bar-chart';
export { niceAxis, niceStep, formatTick, timeTicks, formatTime, type NiceAxis } from './ticks';
export { esc } from './svg';
