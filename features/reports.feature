Feature: Getting the report
  As a customer who paid
  I want to follow my order and open my report through a link I can share for a while,
  and a clear answer when I ask about something that is not there.

  Scenario: A fresh download link gives the report, for 15 minutes
    Given my report on my 2015 Ford F-150 is ready
    When I ask for the download links
    Then the links last 15 minutes
    And the download link gives me the report
    And the view link gives me the report

  @in-process
  Scenario: A download link is refused once its 15 minutes are over, and a fresh one works
    Given my report on my 2015 Ford F-150 is ready
    And I was given a download link
    When 16 minutes pass
    Then following that link is refused because the download link is invalid or has expired
    And the download link gives me the report

  Scenario: A download link whose expiry was stretched is refused
    Given my report on my 2015 Ford F-150 is ready
    And I was given a download link
    When I stretch that link's expiry by a day
    Then following that link is refused because the download link is invalid or has expired

  Scenario: A report not paid for cannot be downloaded
    Given I have described my 2015 Ford F-150 with the codes "P0301"
    When I ask for the download links
    Then it is refused because the report is not ready

  # The original service ran the paid analysis for anyone who asked; here payment comes first.
  Scenario: The analysis of a description not paid for is refused
    Given I have described my 2015 Ford F-150 with the codes "P0301"
    When I ask for the report to be made again
    Then it is refused because it has not been paid for
    And the submission is "pending"

  Scenario: Asking again for a ready report changes nothing
    Given my report on my 2015 Ford F-150 is ready
    When I ask for the report to be made again
    Then I am told it is ready
    And the submission is "ready"
    And the report was made in 1 attempt

  Scenario: Asking about a submission that does not exist
    When I ask about the submission "diag_1700000000000_000000000000000000000000"
    Then it is refused because there is no such submission

  @http
  Scenario Outline: Asking about a submission without a proper id
    When I ask about the submission <id>
    Then it is refused because <why>

    Examples:
      | id            | why                          |
      | without an id | the submission id is missing |
      | "   "         | the submission id is missing |
      | "12345"       | that is not a submission id  |
      | "../secrets"  | that is not a submission id  |

  # A signed link names a file; once the file is gone that link cannot work. Asking for links
  # again (as the order page does) queues the report to be made again.
  @own-service
  Scenario: A download link to a report whose file went missing says so, and a fresh one works
    Given my report on my 2015 Ford F-150 is ready
    And I was given a download link
    And its file went missing from the report storage
    Then following that link is refused because the report file is missing
    When I ask for the download links
    Then it is refused because the report is not ready
    When the worker runs
    Then the download link gives me the report

  # The analysis is kept on the submission, so making the file again asks the model nothing.
  # Meanwhile the order reads as being prepared, never as not found.
  @own-service
  Scenario: A ready report whose file went missing is made again as soon as I ask for it
    Given my report on my 2015 Ford F-150 is ready
    And its file went missing from the report storage
    When I ask for the download links
    Then it is refused because the report is not ready
    And the submission is "paid"
    And the status says "the report file was lost from storage and is being made again"
    When the worker runs
    Then the submission is "ready"
    And the download link gives me the report

  @own-service
  Scenario: Asking again for a ready report whose file went missing makes it again
    Given my report on my 2015 Ford F-150 is ready
    And its file went missing from the report storage
    When I ask for the report to be made again
    Then I am told it is queued
    When the worker runs
    Then the submission is "ready"
    And the download link gives me the report
