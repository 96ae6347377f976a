@in-process
Feature: Making the report after payment
  As a customer who paid
  I want a report, or a clear reason why there is none and a way to try again,
  and never an endless "processing".

  Scenario: A paid report moves from pending to paid to processing to ready
    Given I have described my 2015 Ford F-150 with the codes "P0301 P0171"
    Then the submission is "pending"
    When I pay on the checkout
    Then the submission is "paid"
    And the status says "the analysis is queued"
    Given the analyzer fails 1 times
    When the worker runs
    Then the submission is "processing"
    And the status says "trying again"
    When the worker keeps trying through the whole retry budget
    Then the submission is "ready"
    And the report was made in 2 attempts

  Scenario: A failing analyzer is retried, then the submission fails with a plain reason
    Given I have paid for a report on my 2015 Ford F-150
    And the analyzer is down for good
    When the worker keeps trying through the whole retry budget
    Then the analyzer was asked 5 times
    And the submission is "failed"
    And the status says "We could not make your report"
    And the report cannot be downloaded
    When the operator re-queues it once the analyzer is back
    Then the submission is "ready"

  Scenario: A customer whose report failed asks again and gets it
    Given I have paid for a report on my 2015 Ford F-150
    And the analyzer is down for good
    When the worker keeps trying through the whole retry budget
    Then the submission is "failed"
    When the analyzer is back and I ask for the report to be made again
    Then I am told it is queued
    And the submission is "paid"
    When the worker runs
    Then the submission is "ready"

  Scenario: A short analyzer outage is ridden out
    Given I have paid for a report on my 2015 Ford F-150
    And the analyzer fails 2 times
    When the worker keeps trying through the whole retry budget
    Then the submission is "ready"

  Scenario: A job leased by a worker that died is finished by the next worker
    Given I have paid for a report on my 2015 Ford F-150
    And a worker took the job and died before finishing it
    When the next worker runs before the lease runs out
    Then the submission is "processing"
    When the lease runs out and the next worker runs
    Then the submission is "ready"
    And the job was attempted 2 times

  Scenario: A customer whose report cannot be made is refunded automatically
    Given automatic refunds are on
    And I have paid for a report on my 2015 Ford F-150
    And the analyzer is down for good
    When the worker keeps trying through the whole retry budget
    Then the submission is "refunded"
    And the status says "Refunded automatically: the report could not be made"
    And my payment was refunded once
    When the refund's own webhook arrives
    Then the submission is "refunded"
    And the webhook changed nothing

  Scenario: An operator runs a stuck report now instead of waiting for its retry
    Given I have paid for a report on my 2015 Ford F-150
    And the analyzer fails 1 times
    When the worker runs
    Then the submission is "processing"
    And the status says "trying again"
    When the operator runs it now
    Then the submission is "ready"
    And the order records that the operator "ran now"

  Scenario: An operator refunds a paid order stuck without its report
    Given I have paid for a report on my 2015 Ford F-150
    And the analyzer is down for good
    When the worker runs
    And the operator refunds it
    Then the submission is "refunded"
    And my payment was refunded once
    And the order records that the operator "refunded"
    When the worker keeps trying through the whole retry budget
    Then the submission is "refunded"
    When the refund's own webhook arrives
    Then the webhook changed nothing

  Scenario: An operator cannot refund a report the customer already has
    Given my report on my 2015 Ford F-150 is ready
    When the operator tries to refund it
    Then the operator is told to refund it in the Stripe dashboard
    And the submission is "ready"

  Scenario: The operator is told of a paid order still without its report after 10 minutes
    Given I have paid for a report on my 2015 Ford F-150
    When 9 minutes pass without a worker and the sweep runs
    Then the operator is told of no overdue order
    When another minute passes and the sweep runs
    Then the operator is told my order has had no report for 10 minutes, and why
    And the operator is not told my email address or my machine
