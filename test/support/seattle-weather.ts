// The bundled Seattle weather days (vega-datasets seattle-weather.csv) as objects, for tests that serve them.
import { readFile } from 'node:fs/promises';
import { resolveBundled } from '../../data/sources.js';

export interface WeatherDay { date: string; precipitation: number; temp_max: number; temp_min: number; wind: number; weather: string }

/** Every day from `fromDate` (YYYY-MM-DD) on, in file order. */
export async function seattleWeatherDays(fromDate: string): Promise<WeatherDay[]> {
  const [header, ...lines] = (await readFile(resolveBundled('seattle-weather.csv'), 'utf8')).trimEnd().split('\n');
  const names = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], names[i] === 'date' || names[i] === 'weather' ? v : Number(v)])) as unknown as WeatherDay)
    .filter((d) => d.date >= fromDate);
}
