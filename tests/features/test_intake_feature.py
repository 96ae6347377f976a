import json

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from diagpro.domain.ids import is_submission_id
from tests.features.conftest import F150
from tests.features.drivers import Refusal

scenarios("intake.feature")


@given(
    parsers.parse(
        'I describe my 2015 Ford F-150 with the codes "{codes}" and the problem "{problem}"'
    ),
    target_fixture="payload",
)
def describe_f150(codes, problem):
    return {**F150, "errorCodes": codes, "problemDescription": problem}


@given(
    parsers.parse('I describe a "{equipment}" with the email "{email}" and no problem'),
    target_fixture="payload",
)
def describe_badly(equipment, email):
    return {"equipmentType": equipment, "email": email}


@given(
    parsers.parse("I describe my furnace with the symptoms {symptoms}"), target_fixture="payload"
)
def describe_furnace(symptoms):
    return {"equipmentType": "hvac", "email": F150["email"], "symptoms": json.loads(symptoms)}


@given(
    parsers.parse('I describe my boat with the detail "{name}" set to "{value}"'),
    target_fixture="payload",
)
def describe_boat(name, value):
    return {
        "equipmentType": "marine",
        "email": F150["email"],
        "problemDescription": "Outboard overheats at cruise",
        name: value,
    }


@when("I submit the description", target_fixture="answer")
def submit(driver, payload):
    return driver.submit(payload)


@when("I send a description that is not JSON", target_fixture="answer")
def send_not_json(driver):
    return driver.send_raw_description(b'{"payload": {"equipmentType": "automotive",')


@when(parsers.parse("I send a description of {size:d} KB"), target_fixture="answer")
def send_huge(driver, size):
    problem = "x" * (size * 1024)
    return driver.send_raw_description(
        json.dumps({"payload": {**F150, "problemDescription": problem}}).encode()
    )


@when("I submit the description without an API key", target_fixture="answer")
def submit_without_key(driver, payload):
    return driver.submit_with_key(payload, None)


@when(parsers.parse('I submit the description with the API key "{key}"'), target_fixture="answer")
def submit_with_wrong_key(driver, payload, key):
    return driver.submit_with_key(payload, key)


@then("it is accepted with a submission id", target_fixture="submission_id")
def accepted(answer):
    assert not isinstance(answer, Refusal), answer
    assert is_submission_id(answer)
    return answer


@then(parsers.parse('the refusal names the fields "{fields}"'))
def refusal_names(answer, fields):
    assert set(answer.fields) == {f.strip() for f in fields.split(",")}


@then("nothing is stored")
def nothing_stored(driver, answer):
    assert driver.nothing_stored(answer)


@then(parsers.parse('the symptoms are kept as "{symptoms}"'))
def symptoms_kept(driver, submission_id, symptoms):
    assert list(driver.kept(submission_id).symptoms) == symptoms.split("; ")


@then(parsers.parse('the detail "{name}" is kept as "{value}"'))
def detail_kept(driver, submission_id, name, value):
    assert driver.kept(submission_id).details.get(name) == value


@pytest.fixture
def submission_id():  # overridden by the "accepted" step's target_fixture
    return None
