Feature: Describing a problem
  As the owner of a machine that misbehaves
  I want to describe the problem once, in my own words,
  so that I can pay for a report about it without fighting the form.

  Scenario: A complete description is accepted
    Given I describe my 2015 Ford F-150 with the codes "P0301 P0171" and the problem "Rough idle and shaking at stops"
    When I submit the description
    Then it is accepted with a submission id
    And the submission is "pending"
    And the status says "awaiting payment"

  Scenario: A description with mistakes is refused with every field named
    Given I describe a "spaceship" with the email "not-an-email" and no problem
    When I submit the description
    Then it is refused because the description has mistakes
    And the refusal names the fields "equipmentType, email, problemDescription"
    And nothing is stored

  Scenario Outline: Symptoms are accepted as a list or as one comma-separated text
    Given I describe my furnace with the symptoms <symptoms>
    When I submit the description
    Then it is accepted with a submission id
    And the symptoms are kept as "short cycling; no heat"

    Examples:
      | symptoms                           |
      | "short cycling, no heat"           |
      | ["short cycling", "no heat"]       |

  Scenario: Details of my kind of equipment are kept
    Given I describe my boat with the detail "waterType" set to "salt"
    When I submit the description
    Then it is accepted with a submission id
    And the detail "waterType" is kept as "salt"

  @http
  Scenario: A description that is not JSON is refused as such
    When I send a description that is not JSON
    Then it is refused because the request is not valid JSON
    And nothing is stored

  @http
  Scenario: A description far larger than any real one is refused
    When I send a description of 200 KB
    Then it is refused because the request is too large

  @http
  Scenario: A description sent without the API key is refused
    Given I describe my 2015 Ford F-150 with the codes "P0301" and the problem "Rough idle"
    When I submit the description without an API key
    Then it is refused because the API key is missing

  @http
  Scenario: A description sent with a wrong API key is refused
    Given I describe my 2015 Ford F-150 with the codes "P0301" and the problem "Rough idle"
    When I submit the description with the API key "dpk_not_a_key_of_this_service"
    Then it is refused because the API key is wrong
