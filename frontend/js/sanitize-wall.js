// The picture of a class-wall tile (the room's `wall` event: backend classroom/events.py,
// WallTile), checked as sanitize.js checks the rest of what the server sends: a run on
// points sends `resolution` and `boundary` (base64 of uint8 [resolution][resolution]); an
// image run sends `filters`, `filter_size` and `filter_data` (its first conv layer's first
// filters, first input channel: base64 of uint8 [filters][filter_size][filter_size], 128 a
// weight of 0). Types, bounds and the base64's length must all fit, else the picture is
// dropped (null) and the tile keeps only its words.

export const WALL_LIMITS = { maxResolution: 1024, maxFilters: 32, maxFilterSize: 16 };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const isInt = (v, low, high) => Number.isInteger(v) && v >= low && v <= high;

/** Whether `text` is base64 of exactly `count` bytes. */
export function base64Of(text, count) {
  return typeof text === "string" && count > 0 && text.length === 4 * Math.ceil(count / 3) && BASE64.test(text)
    && (text.match(/=*$/)[0].length === (3 - (count % 3)) % 3);
}

/** {resolution, boundary, filters, filter_size, filter_data} of a raw tile: each pair or
 * triple as sent when it fits, else nulls. */
export function wallPicture(raw) {
  const { resolution, boundary, filters, filter_size: size, filter_data: data } = raw ?? {};
  const plane = isInt(resolution, 1, WALL_LIMITS.maxResolution) && base64Of(boundary, resolution * resolution);
  const image = isInt(filters, 1, WALL_LIMITS.maxFilters) && isInt(size, 1, WALL_LIMITS.maxFilterSize)
    && base64Of(data, filters * size * size);
  return {
    resolution: plane ? resolution : null, boundary: plane ? boundary : null,
    filters: image ? filters : null, filter_size: image ? size : null, filter_data: image ? data : null,
  };
}
