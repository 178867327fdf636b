"""The image tools at the page (issue 15): a drawing the trained network classifies, an
uploaded picture classified the same way, and one convolution to touch; every check is what
a participant sees."""

import struct
import zlib

from playwright.sync_api import expect

from .conftest import set_field, wait_for_state


def choose_digits(page):
    page.locator("[data-dataset=digits]").click()
    expect(page.get_by_test_id("train-images").locator("canvas").first).to_be_visible()


def test_a_kernel_over_a_test_image_and_how_padding_sets_the_size(open_page):
    page = open_page("/")
    choose_digits(page)
    tools = page.get_by_test_id("image-tools")
    kernel = tools.get_by_test_id("kernel")
    kernel.scroll_into_view_if_needed()

    # Without a run, the drawing waits for one.
    draw = tools.get_by_test_id("draw")
    expect(draw).to_contain_text("Train a model first")
    expect(draw.get_by_role("button", name="Classify")).to_be_disabled()

    # The first test images to pick from; the first is picked.
    thumbs = kernel.locator(".kernel-thumb canvas")
    expect(thumbs).to_have_count(12)
    expect(kernel.get_by_role("button", name="Test image 1", exact=False).first).to_have_attribute("aria-pressed", "true")

    kernel.get_by_role("button", name="Vertical edges").click()
    assert kernel.get_by_label("Weight, row 2, column 1").input_value() == "2"
    assert kernel.get_by_label("Weight, row 2, column 3").input_value() == "-2"
    size = kernel.get_by_test_id("kernel-size")
    expect(size).to_contain_text("Output size 14×14")  # (16 - 3) / 1 + 1 on a 16-pixel image, valid
    expect(size).to_contain_text("= 14")
    output = kernel.get_by_test_id("kernel-output")
    assert output.evaluate("c => [c.width, c.height]") == [14, 14]
    expect(kernel.get_by_test_id("kernel-range")).to_contain_text("(black) to")
    # Edges of a digit: the output is not one flat grey.
    assert output.evaluate("c => new Set(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).size") > 3

    kernel.get_by_label("Padding").select_option("same")
    expect(size).to_contain_text("Output size 16×16")
    assert output.evaluate("c => c.width") == 16
    kernel.get_by_label("Stride").select_option("2")
    expect(size).to_contain_text("Output size 8×8")

    # A weight out of bounds is marked, and says what is allowed.
    cell = kernel.get_by_label("Weight, row 1, column 1")
    cell.fill("11")
    expect(cell).to_have_attribute("aria-invalid", "true")
    expect(kernel.get_by_role("alert")).to_contain_text("from -10 to 10")
    kernel.get_by_role("button", name="Blur").click()
    expect(cell).to_have_attribute("aria-invalid", "false")
    expect(kernel.locator("[role=alert]")).to_have_text("")  # empty, hidden

    # Another image: the second test image, still 8x8 out with stride 2 and same padding.
    kernel.locator(".kernel-thumb").nth(1).click()
    expect(kernel.locator(".kernel-thumb").nth(1)).to_have_attribute("aria-pressed", "true")
    expect(size).to_contain_text("Output size 8×8")


def test_a_drawn_digit_is_classified_by_the_trained_network(open_page):
    page = open_page("/")
    choose_digits(page)
    set_field(page, "#epochs", 3)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")

    draw = page.get_by_test_id("draw")
    pad = draw.get_by_test_id("draw-canvas")
    pad.scroll_into_view_if_needed()
    expect(draw).not_to_contain_text("Train a model first")
    expect(draw.get_by_role("button", name="Classify")).to_be_enabled()

    # A "7": a bar along the top, then a stroke down to the bottom left.
    box = pad.bounding_box()
    at = lambda x, y: (box["x"] + x * box["width"], box["y"] + y * box["height"])  # noqa: E731
    page.mouse.move(*at(0.25, 0.2))
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(*at(0.25 + 0.05 * i, 0.2))
    for i in range(1, 13):
        page.mouse.move(*at(0.75 - 0.03 * i, 0.2 + 0.055 * i))
    page.mouse.up()
    # The pad has ink: white strokes on black.
    assert pad.evaluate("c => Math.max(...c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0))") == 255

    prediction = draw.get_by_test_id("draw-prediction")
    expect(prediction).to_contain_text("It looks like:")  # classified after the stroke, without a click
    rows = prediction.locator(".bar-row")
    expect(rows).to_have_count(10)
    shares = [int(t.rstrip(" %")) for t in prediction.locator(".bar-value").all_text_contents()]
    assert 95 <= sum(shares) <= 105  # probabilities, rounded
    best = prediction.locator(".bar-row.top .bar-name").text_content()
    assert best in [str(d) for d in range(10)]
    assert best in prediction.locator(".draw-verdict").text_content()
    seen = draw.locator(".draw-seen")
    expect(seen).to_be_visible()
    assert seen.evaluate("c => [c.width, c.height]") == [16, 16]  # the data set's side

    # The drawing can be convolved too.
    kernel = page.get_by_test_id("kernel")
    kernel.get_by_role("button", name="Your drawing").click()
    expect(kernel.get_by_role("button", name="Your drawing")).to_have_attribute("aria-pressed", "true")
    expect(kernel.get_by_test_id("kernel-size")).to_contain_text("Output size 14×14")

    # Clear empties the pad and the answer; Classify then asks for a drawing.
    draw.get_by_role("button", name="Clear").click()
    expect(prediction.locator(".bar-row")).to_have_count(0)
    draw.get_by_role("button", name="Classify").click()
    expect(draw.get_by_role("alert")).to_contain_text("Draw a figure")


def png(pixels: list[list[int]]) -> bytes:
    """A greyscale 8-bit PNG of `pixels` (rows of 0..255), written by hand: no image library."""
    height, width = len(pixels), len(pixels[0])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\0" + bytes(row) for row in pixels)  # filter 0 (none) before each row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def a_one(side=64) -> bytes:
    """A white "1" on black: a vertical bar with a small flag at its top."""
    rows = [[0] * side for _ in range(side)]
    for y in range(10, 54):
        for x in range(29, 36):
            rows[y][x] = 255
    for i in range(8):
        for x in range(22 + i, 26 + i):
            rows[17 - i][x] = 255
    return png(rows)


def pad_pixel(pad, x, y) -> int:
    return pad.evaluate("(c, [x, y]) => c.getContext('2d').getImageData(x, y, 1, 1).data[0]", [x, y])


def test_an_uploaded_picture_is_drawn_on_the_pad_and_classified(open_page):
    page = open_page("/")
    choose_digits(page)
    # The data panel draws the images as the network sees them: a black ground, white ink.
    corner = page.get_by_test_id("train-images").locator("canvas").first.evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, 1, 1).data)")
    assert corner[:3] == [0, 0, 0], corner
    set_field(page, "#epochs", 3)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")

    draw = page.get_by_test_id("draw")
    pad = draw.get_by_test_id("draw-canvas")
    pad.scroll_into_view_if_needed()
    upload = draw.get_by_label("Upload an image")
    assert upload.get_attribute("accept") == "image/*"
    name = '<img src=x onerror="window.pwned=1">one.png'  # a file's name is never shown, let alone as HTML
    upload.set_input_files({"name": name, "mimeType": "image/png", "buffer": a_one()})

    prediction = draw.get_by_test_id("draw-prediction")
    expect(prediction).to_contain_text("It looks like:")  # classified at once, as after a stroke
    expect(prediction.locator(".bar-row")).to_have_count(10)
    best = prediction.locator(".bar-row.top .bar-name").text_content()
    assert best in [str(d) for d in range(10)] and best in prediction.locator(".draw-verdict").text_content()
    expect(draw.locator(".draw-seen")).to_be_visible()
    # On the pad as drawn: the bar white in the middle, the ground black (the picture fitted: 64 -> 192).
    assert pad_pixel(pad, 96, 96) == 255 and pad_pixel(pad, 4, 4) == 0 and pad_pixel(pad, 180, 96) == 0
    assert "onerror" not in draw.text_content() and draw.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None

    # Dark ink on light paper: the same file inverted is a black bar on white.
    draw.get_by_label("dark ink on light paper").check()
    page.wait_for_function("() => document.querySelector('[data-testid=draw-canvas]').getContext('2d')"
                           ".getImageData(4, 4, 1, 1).data[0] === 255")
    assert pad_pixel(pad, 96, 96) == 0
    expect(prediction.locator(".bar-row")).to_have_count(10)

    # Too large, or not an image: said in words, the pad as it was.
    upload.set_input_files({"name": "big.png", "mimeType": "image/png", "buffer": b"\0" * (5 * 1024 * 1024 + 1)})
    expect(draw.get_by_role("alert")).to_contain_text("at most 5 MB")
    upload.set_input_files({"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"})
    expect(draw.get_by_role("alert")).to_contain_text("could not be read as an image")
    assert pad_pixel(pad, 4, 4) == 255

    # Clear forgets the picture: the checkbox no longer redraws it.
    draw.get_by_role("button", name="Clear").click()
    draw.get_by_label("dark ink on light paper").uncheck()
    assert pad_pixel(pad, 4, 4) == 0 and pad_pixel(pad, 96, 96) == 0
