"""The classroom in three browsers: the instructor's page, a participant's page and the
demo screen, each its own Chromium context (its own storage, so its own role)."""

import json
import re

from .conftest import set_field, wait_for_state

NAME = "Ada <b>Lovelace</b>"  # shown as typed: names are text, never HTML


def test_join_follow_wall_and_challenge_across_three_browsers(open_page):
    instructor = open_page("/instructor.html")
    instructor.get_by_test_id("room-title-input").fill("Monday class")
    instructor.get_by_test_id("open-room").click()
    instructor.wait_for_url(re.compile(r"\?room=[A-Z0-9]{6}"))
    instructor.wait_for_selector("body[data-ready=true]")
    code = instructor.get_by_test_id("room-code").text_content()
    assert len(code) == 6 and instructor.get_by_test_id("instructor-tools").is_visible()

    participant = open_page("/join.html")
    participant.get_by_test_id("join-code").fill(code.lower())
    participant.get_by_test_id("join-name").fill(NAME)
    participant.get_by_test_id("join-submit").click()
    participant.wait_for_url(re.compile(rf"\?room={code}"))
    participant.wait_for_selector("body[data-ready=true]")
    assert participant.get_by_test_id("room-who").text_content() == f"you are {NAME}"
    assert participant.get_by_test_id("instructor-tools").is_hidden()

    screen = open_page(f"/presenter.html?room={code}", width=1600, height=900)
    assert screen.get_by_test_id("join-code").text_content() == code
    tile = screen.locator(".tile", has_text="Lovelace")
    tile.wait_for()
    assert tile.locator(".name").text_content() == NAME and screen.locator(".tile b").count() == 0

    # Follow mode: the instructor loads the first lesson step and shares it.
    instructor.get_by_test_id("lesson-load").click()
    instructor.wait_for_function("() => window.playground.page.spec.training.batch_size === 4")
    instructor.get_by_test_id("share-settings").click()
    participant.get_by_test_id("follow").wait_for()
    participant.get_by_test_id("follow-load").click()
    participant.wait_for_function("() => window.playground.page.spec.dataset.name === 'line'"
                                  " && window.playground.page.spec.training.batch_size === 4")

    # The instructor's live run reaches the participant's follow panel and the demo screen.
    instructor.get_by_test_id("train").click()
    instructor.wait_for_function("() => !document.getElementById('share-run').disabled")
    instructor.get_by_test_id("share-run").click()
    participant.wait_for_function("() => Number(document.querySelector('[data-testid=follow-epoch]').textContent) > 0")
    screen.wait_for_function("() => Number(document.querySelector('[data-testid=presenter-epoch]').textContent) > 0")
    wait_for_state(instructor, "finished")

    # The participant trains: the class wall shows the run to its last epoch.
    participant.get_by_test_id("train").click()
    wait_for_state(participant, "finished")
    screen.wait_for_function("() => document.querySelector('.tile')?.dataset.epoch === '50'")
    assert "val" in tile.text_content() and "finished" in tile.text_content()

    # A challenge on this data set: the participant's finished run is scored and ranked.
    instructor.fill("#challenge-params", "3")
    instructor.fill("#challenge-epochs", "100")
    instructor.get_by_test_id("set-challenge").click()
    participant.get_by_test_id("challenge").wait_for()
    submit = participant.get_by_test_id("submit-run")
    participant.wait_for_function("() => !document.querySelector('[data-testid=submit-run]').disabled")
    submit.click()
    participant.wait_for_function(
        "() => document.querySelector('[data-testid=submit-result]').textContent.includes('number 1')")
    assert "Hidden-test accuracy" in participant.get_by_test_id("submit-result").text_content()
    board = screen.get_by_test_id("leaderboard")
    board.locator("td", has_text="Lovelace").wait_for()
    first_row = [cell.text_content() for cell in board.locator("tbody tr").first.locator("td").all()]
    assert first_row[0] == "1" and first_row[1] == NAME and first_row[3] == "3"
    assert float(first_row[2].rstrip(" %")) > 80


def open_room(open_page):
    instructor = open_page("/instructor.html")
    instructor.get_by_test_id("open-room").click()
    instructor.wait_for_url(re.compile(r"\?room=[A-Z0-9]{6}"))
    instructor.wait_for_selector("body[data-ready=true]")
    return instructor, instructor.get_by_test_id("room-code").text_content()


def test_the_demo_screen_trains_and_moves_the_class_through_a_lesson_by_keyboard(open_page, server):
    instructor, code = open_room(open_page)
    participant = open_page(f"/join.html?code={code}")
    participant.get_by_test_id("join-name").fill("Grace")
    participant.get_by_test_id("join-submit").click()
    participant.wait_for_url(re.compile(rf"\?room={code}"))
    participant.wait_for_selector("body[data-ready=true]")

    # The demo screen, opened from the instructor's browser, holds the instructor's token.
    screen = instructor.context.new_page()
    screen.goto(f"{server.url}/presenter.html?room={code}")
    screen.wait_for_selector("body[data-ready=true]")
    instructor.get_by_test_id("share-settings").click()  # the first lesson's first step
    screen.wait_for_function("() => document.getElementById('p-lesson-title').textContent.includes('1/4')")

    screen.keyboard.press("n")  # the next step, for everyone
    screen.wait_for_function("() => document.getElementById('p-lesson-title').textContent.includes('2/4')")
    participant.wait_for_function(
        "() => document.getElementById('lesson-step-number').textContent === 'step 2 of 4'")
    assert "N_train 500" in participant.locator("#lesson-step-title").text_content()
    instructor.wait_for_function(  # the instructor's own page follows the demo screen too
        "() => document.getElementById('lesson-step-number').textContent === 'step 2 of 4'")

    # The step trains 50 epochs, in well under a second: a pause sent once the class has
    # seen a few of them could find the run finished on a busy machine. The run the demo
    # screen creates here trains the step for 5,000 epochs instead, so the pause is sure
    # to come in time (the keys, the sharing and the following are what is tested).
    def longer(route):
        spec = json.loads(route.request.post_data)
        spec["training"]["epochs"] = 5000
        route.continue_(post_data=json.dumps(spec))

    screen.route("**/api/runs", lambda route: longer(route) if route.request.method == "POST" else route.continue_())
    screen.keyboard.press(" ")  # train the shared step, live for the class
    participant.wait_for_function("() => Number(document.querySelector('[data-testid=follow-epoch]').textContent) >= 3")
    screen.unroute("**/api/runs")
    screen.keyboard.press(" ")  # pause
    screen.wait_for_function("() => document.getElementById('p-state').textContent === 'paused'")
    paused_at = int(screen.get_by_test_id("presenter-epoch").text_content())
    screen.keyboard.press(".")  # exactly one more epoch
    screen.wait_for_function(f"() => Number(document.querySelector('[data-testid=presenter-epoch]').textContent) === {paused_at + 1}")
    participant.wait_for_function(f"() => Number(document.querySelector('[data-testid=follow-epoch]').textContent) === {paused_at + 1}")
    participant.get_by_test_id("follow-load").click()
    participant.wait_for_function("() => window.playground.page.spec.dataset.n_train === 500")

    # A run the instructor shares from the playground page: the demo screen in the same
    # browser pauses and steps it too.
    set_field(instructor, "#epochs", 5000)
    instructor.get_by_test_id("train").click()
    instructor.wait_for_function("() => !document.getElementById('share-run').disabled")
    instructor.get_by_test_id("share-run").click()
    shared = instructor.evaluate("window.playground.page.run.id")
    screen.wait_for_function("id => window.presenter.state.runId === id", arg=shared)
    screen.wait_for_function("() => Number(document.querySelector('[data-testid=presenter-epoch]').textContent) >= 3")
    screen.keyboard.press(" ")
    wait_for_state(instructor, "paused")
    held = int(instructor.get_by_test_id("epoch").text_content())
    screen.keyboard.press(".")
    instructor.wait_for_function(f"() => Number(document.querySelector('[data-testid=epoch]').textContent) === {held + 1}")
    instructor.locator("#stop").click()
    wait_for_state(instructor, "stopped")


def join(open_page, code, name):
    page = open_page("/join.html")
    page.get_by_test_id("join-code").fill(code)
    page.get_by_test_id("join-name").fill(name)
    page.get_by_test_id("join-submit").click()
    return page


def test_the_instructor_locks_the_room_and_a_latecomer_is_told_why(open_page):
    open_page.expected_statuses.add(423)  # the latecomer's refused join
    instructor, code = open_room(open_page)
    lock = instructor.get_by_test_id("lock-room")
    lock.click()
    instructor.wait_for_function("() => document.getElementById('lock-room').getAttribute('aria-pressed') === 'true'")
    assert lock.text_content().startswith("Unlock")

    late = join(open_page, code, "Latecomer")
    late.wait_for_function("() => document.getElementById('join-error').textContent.includes('locked')")
    assert "join.html" in late.url

    lock.click()
    instructor.wait_for_function("() => document.getElementById('lock-room').getAttribute('aria-pressed') === 'false'")
    late.get_by_test_id("join-submit").click()
    late.wait_for_url(re.compile(rf"\?room={code}"))


def test_a_shared_regression_run_shows_its_mae_as_a_number_everywhere(open_page):
    instructor, code = open_room(open_page)
    participant = join(open_page, code, "Hopper")
    participant.wait_for_url(re.compile(rf"\?room={code}"))
    participant.wait_for_selector("body[data-ready=true]")
    screen = open_page(f"/presenter.html?room={code}", width=1600, height=900)

    instructor.locator("[data-dataset=plane]").click()  # a regression
    set_field(instructor, "#epochs", 5000)
    instructor.get_by_test_id("train").click()
    instructor.wait_for_function("() => !document.getElementById('share-run').disabled")
    instructor.get_by_test_id("share-run").click()
    number = r"() => /^\d+\.\d{3}$/.test(document.querySelector('[data-testid=%s]').textContent)"
    instructor.wait_for_function(number % "val-accuracy")  # the instructor's own page
    participant.get_by_test_id("follow").wait_for()
    participant.wait_for_function(r"() => /^\d+\.\d{3}$/.test(document.getElementById('follow-acc').textContent)")
    screen.wait_for_function(number % "presenter-val")
    assert "%" not in screen.locator("#p-train").text_content()
    instructor.locator("#stop").click()
    wait_for_state(instructor, "stopped")
    assert "%" not in instructor.get_by_test_id("train-accuracy").text_content()


def test_the_spiral_lessons_starting_network_is_submitted_under_the_default_challenge_limits(open_page):
    instructor, code = open_room(open_page)
    participant = join(open_page, code, "Turing")
    participant.wait_for_url(re.compile(rf"\?room={code}"))
    participant.wait_for_selector("body[data-ready=true]")
    spiral = "() => window.playground.page.spec.dataset.name === 'course_spiral'"
    for page in (instructor, participant):  # both load the lesson's first step, as it is
        page.locator("#lesson-select").select_option("07-spiral-challenge")
        page.wait_for_function("() => document.getElementById('lesson-step-number').textContent === 'step 1 of 2'")
        page.get_by_test_id("lesson-load").click()
        page.wait_for_function(spiral)

    # The challenge with the form's default limits, titled by its data set.
    instructor.get_by_test_id("set-challenge").click()
    participant.get_by_test_id("challenge").wait_for()
    assert "Spiral" in participant.locator("#challenge-title").text_content()
    assert "at most 200 parameters" in participant.locator("#challenge-limits").text_content()

    set_field(participant, "#epochs", 15)  # only shorter, for the test's time
    participant.get_by_test_id("train").click()
    wait_for_state(participant, "finished")
    participant.wait_for_function("() => !document.querySelector('[data-testid=submit-run]').disabled")
    participant.get_by_test_id("submit-run").click()
    participant.wait_for_function(
        "() => /Hidden-test accuracy|Not accepted/.test(document.querySelector('[data-testid=submit-result]').textContent)")
    assert "Hidden-test accuracy" in participant.get_by_test_id("submit-result").text_content()
