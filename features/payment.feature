Feature: Paying for a report
  As a customer who described a problem
  I want my payment to turn into exactly one report
  and the shop that runs diagpro wants no money taken without one.

  Background:
    Given I have described my 2015 Ford F-150 with the codes "P0301 P0171"

  Scenario: Paying yields a ready report
    When I pay on the checkout
    And the worker runs
    Then the submission is "ready"
    And the report puts the verdict first and decodes the codes "P0301, P0171"
    And fresh download and view links are offered

  @signed-event
  Scenario: A payment event delivered five times produces one job and one report
    When I pay on the checkout and the payment event is delivered 5 times
    Then only the first delivery is acted on
    When the worker runs
    Then the submission is "ready"
    And the report was made in 1 attempt

  @signed-event
  Scenario: A payment for the wrong amount is not fulfilled
    When a signed payment event for 100 cents arrives for my checkout
    Then the submission is "pending"
    And no report is being made
    And the status says "A payment arrived but was not accepted"

  Scenario: A payment event not signed by the payment provider is refused
    When a payment event signed with another secret arrives for my checkout
    Then it is refused because the payment event's signature is not valid
    And the submission is "pending"

  Scenario: Cancelling the checkout lets me pay again later
    When I cancel on the checkout
    Then the submission is "pending"
    And I can open a new checkout

  @signed-event
  Scenario: A refund made at the payment provider ends the order
    When I pay on the checkout
    And the worker runs
    And the payment provider reports the payment refunded
    Then the submission is "refunded"
    And the status says "Refunded"
    And the report cannot be downloaded

  @signed-event
  Scenario: A partial refund leaves the report with the customer
    When I pay on the checkout
    And the worker runs
    And the payment provider reports 1 cent of the payment refunded
    Then the submission is "ready"
    And the download link gives me the report
