"""The introduction page, /course.html: read in Chromium under the page's CSP, it says what
deep learning does for image analysis, when to use it, names each tool with a link to it,
and leads back to the playground and to the lessons. Nothing on it comes from another site."""

from urllib.parse import urlparse

TOOLS = ("ZeroCostDL4Mic", "CSBDeep", "StarDist", "PlantSeg", "bioimage.io", "ImJoy", "Colab")


def test_the_course_page_introduces_the_course_and_its_tools(open_page, server, tmp_path):
    requested = []
    page = open_page("/course.html")
    page.on("request", lambda request: requested.append(request.url))
    response = page.reload()
    assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("body[data-ready=true]")
    text = page.get_by_test_id("course").inner_text()
    for words in ("Classification", "Segmentation", "restoration", "Tracking",
                  "labelled data", "compute", "New data means new training"):
        assert words in text, words
    # Each tool is named by a link to its own site, which opens as a plain link.
    tools = page.get_by_test_id("tools")
    for name in TOOLS:
        link = tools.get_by_role("link", name=name, exact=True)
        assert link.count() == 1, name
        href = link.get_attribute("href")
        assert urlparse(href).scheme == "https" and urlparse(href).netloc, href
    # Back to the playground, and to the lessons.
    assert page.get_by_test_id("back-to-playground").get_attribute("href") == "/"
    assert page.get_by_test_id("to-lessons").get_attribute("href").startswith("/?lesson=")
    # The page fetches nothing from another site: no image, font, style or script.
    own = urlparse(server.url).netloc
    assert requested and all(urlparse(url).netloc == own or url.startswith("data:") for url in requested)
    # It matches the other pages: the same stylesheet, the same top bar.
    assert page.locator("link[href='css/app.css']").count() == 1
    assert page.locator("header.topbar h1").inner_text() == "Keras Playground"
    page.screenshot(path=str(tmp_path / "course.png"), full_page=True)


def test_the_way_back_leads_to_the_playground(open_page, server):
    page = open_page("/course.html")
    page.get_by_test_id("back-to-playground").click()
    page.wait_for_url(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_by_test_id("train").is_visible()
