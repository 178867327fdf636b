"""A participant at the page: train, watch, change, share; every check is what they see."""

from playwright.sync_api import expect

from .conftest import epoch, percent, set_field, wait_for_state


def test_one_neuron_fails_the_parabola_and_a_hidden_layer_solves_it(open_page):
    page = open_page("/?exercise=ex2")
    assert page.get_by_text("no hidden layer: a single neuron").is_visible()
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert epoch(page) == 200
    one_neuron = percent(page, "val-accuracy")
    assert one_neuron < 0.85  # a straight line cannot follow a parabola

    page.get_by_role("button", name="+ layer").click()
    page.get_by_role("button", name="One neuron more in layer 1").click()  # the course's 5 ReLU
    assert page.locator(".net-column.hidden .neuron").count() == 5
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert percent(page, "val-accuracy") > 0.9 > one_neuron
    # The boundary and the loss curve were drawn; the code is the model just trained.
    assert page.evaluate("window.playground.boundary.rendered") > 0
    assert page.get_by_test_id("loss-chart").locator("path.js-line").count() >= 2
    assert "layers.Dense(5, activation='relu')" in page.get_by_test_id("code").text_content()


def test_pause_step_and_resume(open_page):
    page = open_page("/?exercise=ex1")
    set_field(page, "#epochs", 3000)
    page.get_by_test_id("train").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent) >= 3")
    page.get_by_test_id("pause").click()
    wait_for_state(page, "paused")
    held = epoch(page)
    page.wait_for_timeout(1000)
    assert epoch(page) == held  # paused means paused

    page.get_by_test_id("step").click()
    page.wait_for_function("n => Number(document.querySelector('[data-testid=epoch]').textContent) === n", arg=held + 1)
    page.wait_for_timeout(700)
    assert epoch(page) == held + 1  # one step, one epoch

    page.get_by_test_id("pause").click()  # now reads "Resume"
    page.wait_for_function("n => Number(document.querySelector('[data-testid=epoch]').textContent) > n", arg=held + 3)
    page.get_by_role("button", name="Stop").click()
    wait_for_state(page, "stopped")


def test_step_before_train_trains_exactly_one_epoch(open_page):
    page = open_page("/?exercise=ex1")
    page.get_by_test_id("step").click()
    wait_for_state(page, "paused")
    page.wait_for_function("() => document.querySelector('[data-testid=epoch]').textContent === '1'")
    page.wait_for_timeout(700)
    assert epoch(page) == 1
    page.get_by_test_id("reset").click()
    assert epoch(page) == 0


def test_the_learning_rate_changes_while_training(open_page):
    page = open_page("/?exercise=ex1")
    set_field(page, "#epochs", 3000)
    page.get_by_test_id("train").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent) >= 2")
    rate = page.evaluate("window.playground.page.run.spec.training.learning_rate")  # the exercise's own
    assert page.locator("#live-lr").text_content() == f"learning rate {rate:g}"
    set_field(page, "#learning-rate", 0.02)
    page.wait_for_function("() => document.getElementById('live-lr').textContent === 'learning rate 0.02'")
    assert page.locator("#run-state").text_content() == "training"  # the same run goes on
    page.get_by_role("button", name="Stop").click()
    wait_for_state(page, "stopped")


def test_drawing_a_custom_data_set_by_clicking(open_page):
    page = open_page("/")
    page.locator("[data-dataset=custom]").click()
    canvas = page.get_by_test_id("boundary")
    box = canvas.bounding_box()
    page.locator("[data-draw-class='0']").click()
    for i in range(6):  # class 0 on the left
        canvas.click(position={"x": box["width"] * 0.2, "y": box["height"] * (0.15 + 0.13 * i)})
    page.locator("[data-draw-class='1']").click()
    for i in range(6):  # class 1 on the right
        canvas.click(position={"x": box["width"] * 0.8, "y": box["height"] * (0.15 + 0.13 * i)})
    assert page.locator("#n-train").input_value() == "10"  # 80 % of 12 points train
    assert page.locator("#n-val").input_value() == "2"
    page.get_by_role("button", name="Erase").click()
    canvas.click(position={"x": box["width"] * 0.8, "y": box["height"] * 0.15})
    assert page.evaluate("window.playground.page.spec.dataset.points.length") == 11

    # A batch larger than the 9 training points left is refused, next to its field.
    expect(page.locator("[data-error-for='training.batch_size']")).to_contain_text("16 is out of range [1, 9]")
    set_field(page, "#batch-size", 4)
    set_field(page, "#learning-rate", 0.1)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert percent(page, "train-accuracy") == 1.0  # two clusters, cleanly apart


def test_a_shared_link_reproduces_the_settings(open_page):
    page = open_page("/")
    page.locator("[data-dataset=circle]").click()
    page.locator("[data-feature='x1^2']").check()
    page.get_by_role("button", name="+ layer").click()
    set_field(page, "#learning-rate", 0.03)
    page.locator("#optimizer").select_option("sgd")
    link = page.evaluate("location.href")

    other = open_page(link.split(page.evaluate("location.origin"))[1] + "&hide=features,code")
    assert other.locator("[data-dataset=circle]").get_attribute("aria-checked") == "true"
    assert other.locator("#learning-rate").input_value() == "0.03"
    assert other.locator("#optimizer").input_value() == "sgd"
    assert other.locator(".net-column.hidden").count() == 1
    # Hidden controls are gone for a focused exercise, the rest are there.
    assert not other.locator("#features").is_visible()
    assert not other.get_by_test_id("code").is_visible()
    assert other.get_by_test_id("train").is_visible()


def test_an_invalid_value_is_explained_next_to_its_control(open_page):
    page = open_page("/?exercise=ex1")
    set_field(page, "#batch-size", 0)
    error = page.locator("[data-error-for='training.batch_size']")
    expect(error).to_have_text("0 is out of range [1, 100]")
    expect(page.locator("#batch-size")).to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("train").click()
    page.wait_for_timeout(500)
    assert epoch(page) == 0 and error.is_visible()  # nothing trained on a bad spec
    set_field(page, "#batch-size", 4)
    expect(error).to_be_empty()


def test_a_dropped_connection_reconnects_without_losing_the_curve(open_page):
    page = open_page("/?exercise=ex1")
    set_field(page, "#epochs", 3000)
    page.get_by_test_id("train").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent) >= 5")
    dropped_at = epoch(page)
    page.evaluate("window.playground.page.run.stream.ws.close(4000, 'dropped')")  # as a flaky network does
    page.wait_for_function("n => Number(document.querySelector('[data-testid=epoch]').textContent) > n + 20",
                           arg=dropped_at)
    expect(page.locator("#connection")).to_have_text("live")
    page.get_by_role("button", name="Stop").click()
    wait_for_state(page, "stopped")
    curve = page.evaluate("window.playground.curves.epochs")
    assert curve == list(range(0, len(curve)))  # epoch 0 (untrained), then every epoch once, none lost or twice
    assert len(curve) == epoch(page) + 1


def test_hovering_a_neuron_shows_its_map_large(open_page):
    page = open_page("/?exercise=ex3")
    set_field(page, "#epochs", 20)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    page.locator(".net-column.hidden").nth(1).locator(".neuron").nth(2).hover()
    expect(page.locator("#boundary-caption")).to_contain_text("layer 2, neuron 3")
    page.mouse.move(5, 5)
    expect(page.locator("#boundary-caption")).to_have_text("")


def test_an_uploaded_csv_becomes_the_data_set(open_page, tmp_path):
    page = open_page("/")
    rows = ["x1,x2,label"] + [f"{-1 + i / 10},{0.5},0" for i in range(10)] + [f"{-1 + i / 10},-0.5,1" for i in range(10)]
    csv = tmp_path / "points.csv"
    csv.write_text("\n".join(rows) + "\n")
    page.locator("#upload").set_input_files(csv)
    expect(page.locator("[data-dataset=custom]")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#n-train")).to_have_value("16")
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n0,0,0\n1,x,1\n")
    page.locator("#upload").set_input_files(bad)
    expect(page.locator("[data-error-for=file]")).to_contain_text("Line 3")


def test_the_page_fits_a_tablet(open_page):
    page = open_page("/?exercise=ex2", width=800, height=1100)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for test_id in ("train", "boundary", "network", "loss-chart", "dataset"):
        assert page.get_by_test_id(test_id).is_visible()
    page.keyboard.press("Tab")  # the controls are reachable from the keyboard
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"


def test_a_diverging_run_says_so_and_suggests_a_lower_learning_rate(open_page):
    page = open_page("/")
    page.locator("[data-dataset=plane]").click()
    page.get_by_role("button", name="+ layer").click()
    page.locator("#optimizer").select_option("sgd")
    set_field(page, "#learning-rate", 3)
    set_field(page, "#batch-size", 4)
    page.get_by_test_id("train").click()
    wait_for_state(page, "diverged")
    expect(page.locator("#diverged")).to_contain_text("Lower the learning rate (now 3)")
    assert page.locator("#train-metric-name").text_content() == "train MAE"  # regression: an error, not accuracy


def test_changing_the_epochs_mid_run_keeps_the_runs_own_total(open_page):
    page = open_page("/?exercise=ex1")
    set_field(page, "#epochs", 3000)
    page.get_by_test_id("train").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent) >= 3")
    set_field(page, "#epochs", 10)  # the next run's: this one goes on to its own 3000
    changed_at = epoch(page)
    page.wait_for_function("n => Number(document.querySelector('[data-testid=epoch]').textContent) > n + 3",
                           arg=changed_at)
    expect(page.locator("#epoch-total")).to_have_text("/ 3000")
    shown, width = page.evaluate("""() => [Number(document.querySelector('[data-testid=epoch]').textContent),
        parseFloat(document.getElementById('progress-bar').style.width)]""")
    assert shown > 10 and abs(width - 100 * shown / 3000) < 0.01  # not shown / 10: the bar is not full
    assert page.locator("#run-state").text_content() == "training"  # the same run goes on
    page.get_by_role("button", name="Stop").click()
    wait_for_state(page, "stopped")
    page.get_by_test_id("reset").click()
    expect(page.locator("#epoch-total")).to_have_text("/ 10")  # no run: what the next one would train


def test_a_regression_run_shows_its_mae_as_a_number(open_page):
    page = open_page("/")
    page.locator("[data-dataset=plane]").click()
    set_field(page, "#epochs", 5)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert page.locator("#val-metric-name").text_content() == "validation MAE"
    for test_id in ("train-accuracy", "val-accuracy", "test-accuracy"):
        shown = page.get_by_test_id(test_id).text_content()
        assert "%" not in shown and float(shown) >= 0, (test_id, shown)


def test_the_course_exercises_come_from_the_catalog(open_page):
    page = open_page("/?exercise=ex3")
    exercises = page.evaluate("window.playground.page.catalog.exercises")
    assert [e["id"] for e in exercises] == ["ex1", "ex2", "ex3"]
    assert page.evaluate("window.playground.page.spec") == exercises[2]["spec"]
    assert page.locator("[data-exercise=ex3]").get_attribute("class") == "current"
    page.locator("[data-exercise=ex1]").click()
    assert page.evaluate("window.playground.page.spec") == exercises[0]["spec"]
    regularizations = page.locator("#regularization option").evaluate_all("options => options.map(o => o.value)")
    assert regularizations == page.evaluate("window.playground.page.catalog.regularizations")


def test_epoch_0_the_untrained_network_shows_before_the_first_epoch(open_page):
    page = open_page("/?exercise=ex1")
    held = []  # Step creates the run paused, then asks for one epoch: hold that request back
    page.route("**/control", lambda route: held.append(route))
    page.get_by_test_id("step").click()
    page.wait_for_function("() => window.playground.curves.epochs.length >= 1")
    page.wait_for_function("() => window.playground.boundary.rendered > 0")  # its boundary is drawn
    assert page.evaluate("window.playground.page.run.frame.epoch") == 0
    assert epoch(page) == 0
    assert page.evaluate("window.playground.curves.epochs") == [0]
    page.wait_for_function("() => document.getElementById('loss-chart').data?.[0]?.x?.length === 1")
    assert page.evaluate("document.getElementById('loss-chart').data[0].x[0]") == 0  # the curve starts at 0
    assert page.evaluate("window.playground.curves.loss[0]") > 0
    assert page.get_by_test_id("train-accuracy").text_content().endswith("%")  # the untrained accuracy
    assert held  # nothing trained yet: the step is still on its way

    for route in held:
        route.continue_()
    page.unroute("**/control")
    page.wait_for_function("() => document.querySelector('[data-testid=epoch]').textContent === '1'")
    assert page.evaluate("window.playground.curves.epochs") == [0, 1]
    page.wait_for_function("() => document.getElementById('loss-chart').data?.[0]?.x?.length === 2")
    assert page.evaluate("document.getElementById('loss-chart').data[0].x") == [0, 1]


def test_the_true_boundary_is_drawn_dashed_and_can_be_hidden(open_page):
    page = open_page("/?exercise=ex2")
    toggle = page.get_by_test_id("true-boundary")
    expect(toggle).to_be_checked()
    page.wait_for_function("() => window.playground.boundary.truthShown")
    lines = page.evaluate("window.playground.boundary.data.truth")
    assert lines and all(abs(y - (2 * x * x - 1)) < 2e-3 for line in lines for x, y in line)  # the parabola
    with_truth = page.evaluate("document.getElementById('boundary').toDataURL()")
    toggle.uncheck()
    page.wait_for_function("() => !window.playground.boundary.truthShown")
    assert page.evaluate("document.getElementById('boundary').toDataURL()") != with_truth
    assert page.evaluate("window.playground.page.view.trueBoundary") is False
    again = open_page(page.url.removeprefix(page.url.split("/?")[0]))  # the view is in the link
    expect(again.get_by_test_id("true-boundary")).not_to_be_checked()
    # A data set with no known boundary draws none.
    page.locator('[data-dataset="spiral"]').click()
    toggle.check()
    page.wait_for_function("() => window.playground.boundary.data?.truth === null")
    assert page.evaluate("window.playground.boundary.truthShown") is False


def test_the_page_says_what_noise_means_for_the_data_set(open_page):
    page = open_page("/?exercise=ex1")
    expect(page.get_by_test_id("noise-doc")).to_contain_text("flips labels")
    page.locator('[data-dataset="circle"]').click()
    expect(page.get_by_test_id("noise-doc")).to_contain_text("jitters the points")
    page.locator('[data-dataset="gaussian"]').click()
    expect(page.get_by_test_id("noise-doc")).to_contain_text("widens the clouds")


def test_the_page_speaks_in_whole_words(open_page):
    page = open_page("/?exercise=ex1")
    expect(page.locator("label:has(#log-scale)")).to_have_text("log scale")
    text = page.locator("body").inner_text()
    for abbreviation in ("w/o", "val.", "Reg.", "log loss", "pred."):
        assert abbreviation not in text, abbreviation
    expect(page.get_by_test_id("parameters")).to_have_text("3")  # Dense(1) on (x1, x2): w1, w2, b
    assert "y = sigmoid(w1·x1 + w2·x2 + b)" in text
    assert "Validation set" in text and "Test set" in text
    expect(page.get_by_role("link", name="About the course")).to_be_visible()
